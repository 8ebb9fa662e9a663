import type { Stage } from '../../../shared/job.js';
import type { RunStatus } from '../../../shared/project.js';

/**
 * The words the app shows for a run's stage and status: one entry for every
 * value the job and project schemas allow (a new one without words is a type
 * error). Numbers are written by src/shared/format.ts.
 */

export const STAGE_WORDS: Readonly<Record<Stage, string>> = {
  prepare: 'Preparing',
  synthesize: 'Synthesizing the transfer set',
  distill: 'Training the student',
  rounds: 'Making images and training the student in rounds',
  evaluate: 'Evaluating',
  report: 'Writing the report',
};

export const STATUS_WORDS: Readonly<Record<RunStatus, string>> = {
  running: 'Running',
  done: 'Finished',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
};
