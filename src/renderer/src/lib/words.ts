/** The words the app shows for a run's stage and status. Numbers are written by src/shared/format.ts. */

export const STAGE_WORDS: Record<string, string> = {
  prepare: 'Preparing',
  synthesize: 'Synthesizing the transfer set',
  distill: 'Training the student',
  rounds: 'Making images and training the student in rounds',
  evaluate: 'Evaluating',
  report: 'Writing the report',
};

export const STATUS_WORDS: Record<string, string> = {
  running: 'Running',
  done: 'Finished',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
};
