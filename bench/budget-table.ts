/**
 * The methods at equal wall time, as a Markdown table for the README and the notes: one row per
 * method at today's defaults (the whole machine: two synthesis workers, pipelined), one column
 * per budget, each cell the final test accuracy of every seed measured (and their mean), from
 * bench/results/budget-<dataset>.json. A cell with no run says so.
 *
 *   node --import tsx bench/budget-table.ts --dataset mnist [--tag t9146]
 *
 * With --keys SECONDS, the runs one budget's column shows instead, one line per row (its lowest
 * seed): the run's key, a tab, and a name for a chart's legend. bench/budget-methods-chart.sh draws
 * those, so the table and its chart show the same runs.
 *
 *   node --import tsx bench/budget-table.ts --dataset mnist --keys 1800
 *
 * With --cores, issue 9's item 4 instead (every core busy): the default job against the same job
 * with synthesis not pipelined and with one synthesis worker, MNIST 15 minutes, seed by seed,
 * with the rounds made and the seconds the student trained.
 *
 *   node --import tsx bench/budget-table.ts --dataset mnist --cores
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'mnist' },
    tag: { type: 'string' },
    cores: { type: 'boolean', default: false },
    keys: { type: 'string' },
  },
});
interface Run {
  key: string;
  settings: string;
  budgetSeconds: number;
  seed: number;
  finalAccuracy: number;
  teacherAccuracy: number;
  rounds: number;
  seconds: number;
  trainingSeconds: number;
}

/** The round settings of today's defaults, as bench/budget.ts keys them (after the config's name). */
const ROUNDS = 'images800,avg0.9995,workers2,pipelined,tau4,shift-relabel';
const SOFT_TARGET = 'dark=500,coarse=4,pixelStats=400,sigma=0.5';
const tag = values.tag ? `,${values.tag}` : '';
/**
 * A row: its runs' settings (where some match `newest`, only those count: the same runs measured
 * again at newer code), and (the paper's two stages, sized by hand) the least share of the budget
 * a run must have taken to count as filling it.
 */
/** The default job's settings key (bench/budget.ts), tag included. */
const DEFAULT = `recommended,${ROUNDS},${SOFT_TARGET}${tag}`;
interface Row {
  label: string;
  settings: RegExp;
  newest?: RegExp;
  filled?: number;
  /** A chart legend's name for one of the row's runs, where the row's label does not say it. */
  legend?: (run: Run) => string;
}
const ROWS: Row[] = [
  {
    label: 'soft-target in rounds, disagreement 30 (the default)',
    // pool8: session 31's run with the pool's 8-bit images, tagged to tell it from the run before.
    ...remeasured(DEFAULT, ',pool8'),
  },
  {
    label: 'soft-target in rounds, no disagreement term',
    ...remeasured(`recommended,js0,${ROUNDS},${SOFT_TARGET}${tag}`),
  },
  { label: 'zskd in rounds', settings: exactly(`zskd-recommended,${ROUNDS}${tag}`) },
  { label: 'noise in rounds', settings: exactly(`noise-recommended,${ROUNDS}${tag}`) },
  {
    label: "the paper's two stages (its settings; images x epochs sized to the budget)",
    settings: new RegExp(`^paper,workers2,samples\\d+,epochs\\d+${escape(tag)}$`),
    filled: 0.8,
    legend: (run) => {
      const [, images, epochs] = /samples(\d+),epochs(\d+)/.exec(run.settings) ?? [];
      return `the paper's two stages, ${images} images x ${epochs} epochs`;
    },
  },
];

const file = `bench/results/budget-${values.dataset}.json`;
const data = JSON.parse(readFileSync(file, 'utf8')) as { teacherAccuracy: number; runs: Run[] };
const budgets = [...new Set(data.runs.map((r) => r.budgetSeconds))]
  .filter((b) => b >= 300)
  .sort((a, b) => a - b);
const percent = (a: number): string => `${(a * 100).toFixed(2)}%`;

if (values.cores) {
  printCoresTable();
  process.exit(0);
}
if (values.keys !== undefined) {
  const budget = Number(values.keys);
  if (!budgets.includes(budget)) {
    throw new Error(
      `--keys ${values.keys}: no run has that budget in ${file}; give one of ${budgets.join(', ')} (seconds)`,
    );
  }
  for (const row of ROWS) {
    const { runs, short } = cellOf(row, budget);
    const run = runs[0] ?? short;
    if (run) console.log(`${run.key}\t${row.legend?.(run) ?? row.label}`);
  }
  process.exit(0);
}

const lines = [
  `| method (teacher ${percent(data.teacherAccuracy)}) | ${budgets.map((b) => `${b / 60} min`).join(' | ')} |`,
  `| --- | ${budgets.map(() => '---').join(' | ')} |`,
];
for (const row of ROWS) {
  const cells = budgets.map((budget) => {
    const { runs, short: r } = cellOf(row, budget);
    if (runs.length === 0 && r) {
      return `${percent(r.finalAccuracy)} (seed ${r.seed}, ${r.rounds}, ${Math.round(r.seconds)} s: ${Math.round((100 * r.seconds) / budget)}% of the budget)`;
    }
    if (runs.length === 0) return 'not run';
    const each = runs.map(
      (r) => `${percent(r.finalAccuracy)} (seed ${r.seed}, ${r.rounds}, ${Math.round(r.seconds)} s)`,
    );
    if (runs.length === 1) return each[0]!;
    return `mean ${percent(meanAccuracy(runs))}: ${each.join(', ')}`;
  });
  lines.push(`| ${row.label} | ${cells.join(' | ')} |`);
}
console.log(lines.join('\n'));
console.log('\n(seed, rounds or epochs, seconds taken)');

/** Item 4: who runs what on the two cores, MNIST 15 minutes, the runs of today's code (their own keys). */
function printCoresTable(): void {
  // The default job as measured again at today's code, and the same job less one of its settings.
  const rows = [
    {
      label: 'two synthesis workers, pipelined: the next round made while the student trains (the default)',
      settings: `${DEFAULT},s33`,
    },
    {
      label: 'two synthesis workers, not pipelined: the student waits for each round',
      settings: DEFAULT.replace(',pipelined,', ','),
    },
    {
      label: 'one synthesis worker beside the student, pipelined',
      settings: DEFAULT.replace(',workers2,', ','),
    },
  ];
  const runsOf = (settings: string): Run[] =>
    data.runs
      .filter((r) => r.budgetSeconds === 900 && r.settings === settings)
      .sort((a, b) => a.seed - b.seed);
  const seeds = [...new Set(rows.flatMap((row) => runsOf(row.settings).map((r) => r.seed)))].sort(
    (a, b) => a - b,
  );
  console.log(
    `| MNIST, 15 min (teacher ${percent(data.teacherAccuracy)}) | ${seeds.map((s) => `seed ${s}`).join(' | ')} | mean |`,
  );
  console.log(`| --- | ${seeds.map(() => '---').join(' | ')} | --- |`);
  for (const row of rows) {
    const runs = runsOf(row.settings);
    const cells = seeds.map((seed) => {
      const r = runs.find((run) => run.seed === seed);
      return r
        ? `${percent(r.finalAccuracy)} (${r.rounds} rounds, student ${Math.round(r.trainingSeconds)} s)`
        : 'not run';
    });
    const mean = runs.length > 0 ? percent(meanAccuracy(runs)) : '-';
    console.log(`| ${row.label} | ${cells.join(' | ')} | ${mean} |`);
  }
  console.log('\n(rounds made; seconds of student steps)');
}

/**
 * The runs a row's cell shows, by seed: where some were measured again (`newest`), those alone;
 * where none took `filled` of the budget, the last run sized by hand that fell short of it.
 */
function cellOf(row: Row, budget: number): { runs: Run[]; short: Run | undefined } {
  const matching = data.runs.filter((r) => r.budgetSeconds === budget && row.settings.test(r.settings));
  const newest = matching.filter((r) => row.newest?.test(r.settings));
  const all = (newest.length > 0 ? newest : matching).sort((a, b) => a.seed - b.seed);
  const runs = all.filter((r) => r.seconds >= (row.filled ?? 0) * budget);
  return { runs, short: runs.length === 0 ? all.at(-1) : undefined };
}

function meanAccuracy(runs: readonly Run[]): number {
  return runs.reduce((sum, r) => sum + r.finalAccuracy, 0) / runs.length;
}

/**
 * A row's runs where the same job was measured again after session 33's speed-ups (key ending
 * `,s33`): the cell then shows those alone. `older` names another tagged run the row keeps.
 */
function remeasured(key: string, older = ''): { settings: RegExp; newest: RegExp } {
  return {
    settings: new RegExp(`^${escape(key)}(${escape(older)}|,s33)?$`),
    newest: exactly(`${key},s33`),
  };
}

function exactly(settings: string): RegExp {
  return new RegExp(`^${escape(settings)}$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
