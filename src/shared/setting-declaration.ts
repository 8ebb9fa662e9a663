/**
 * How a job setting is declared (the list is in job-settings.ts and
 * round-settings.ts): where the value lives in a job, its bounds, its default
 * in each pipeline, its words for the app and its command-line flag; and a
 * setting's default in a pipeline.
 */

export type Pipeline = 'rounds' | 'two-stage';

/** A default that may differ between the two pipelines. */
export type PerPipeline<T> = T | { readonly rounds: T; readonly 'two-stage': T };

interface Common {
  /** Where the value lives: top level of the job, `distill.*` or `rounds.*`. */
  readonly group: 'job' | 'distill' | 'rounds';
  readonly key: string;
  /** The command line's flag, without dashes. */
  readonly flag: string;
  /** Words for the app's form. */
  readonly label: string;
  /** One sentence for the app's help text and the command line's --help. */
  readonly description: string;
  /** The pipelines that read it (the app shows it only for those). */
  readonly pipelines: readonly Pipeline[];
  /** In the app: under "Advanced settings" (true) or chosen up front (the time budget and size). */
  readonly advanced: boolean;
}

export type JobSetting = Common &
  (
    | {
        readonly kind: 'number';
        readonly min: number;
        readonly max: number;
        readonly integer: boolean;
        /** A duration: the command line takes e.g. 90s, 15m, 1h (the value is in seconds). */
        readonly duration?: true;
        readonly default: PerPipeline<number>;
      }
    | { readonly kind: 'boolean'; readonly default: PerPipeline<boolean> }
  );

/** A setting's default in `pipeline` (a boolean for boolean settings, else a number). */
export function settingDefault(setting: JobSetting, pipeline: Pipeline): number | boolean {
  const d = setting.default;
  return typeof d === 'object' ? d[pipeline] : d;
}
