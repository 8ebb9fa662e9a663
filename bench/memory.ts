/**
 * Peak resident memory of every process of a job (a benchmark, not a test; Linux, it reads
 * /proc): runs the command line's distill on the demo job (`make demo`'s teacher, student and
 * method; budget --budget, default 5m) and samples every process of its tree twice a second,
 * keeping each one's peak (VmHWM, the kernel's own high-water mark of resident memory).
 * The command line runs as built (out/main, what `make demo` and the app run; it must match the
 * sources: `make bundle`), or with --from-source through tsx.
 * Appends one entry per budget and way of running to bench/results/memory.json (an entry
 * already there is skipped unless --force).
 *
 *   node --import tsx bench/memory.ts [--budget 5m] [--from-source] [--force]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/shared/duration.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';
import { STAMP_FILE, sourceStamp } from '../bin/source-stamp.js';

const { values } = parseArgs({
  options: {
    budget: { type: 'string', default: '5m' },
    'from-source': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  },
});
const cli = values['from-source'] ? 'sources' : 'built';
const budgetSeconds = parseDuration(values.budget);
if (budgetSeconds === null) throw new Error('--budget must be a duration such as 5m');
const OUT = path.join('bench', 'results', 'memory.json');
const GOAL_MB = 300;

interface ProcessPeak {
  pid: number;
  /** What the process is: the job's own process or one of its workers, by its command line. */
  role: string;
  peakMb: number;
  /** When the peak was reached, in seconds after the start, and the job's last line of output then. */
  peakAt?: { seconds: number; during: string };
}
interface Entry {
  budgetSeconds: number;
  cores: number;
  command: string;
  /** How the command line ran: its build (out/main) or the TypeScript sources through tsx. */
  cli?: 'built' | 'sources';
  processes: ProcessPeak[];
  finalLine: string;
  /** Rounds the job made in its budget (the pool, and so the job process's memory, grows with each). */
  rounds?: number;
  goalMb: number;
  measuredAt: string;
}

const previous: Entry[] = existsSync(OUT)
  ? (JSON.parse(readFileSync(OUT, 'utf8')) as { runs: Entry[] }).runs
  : [];
const sameRun = (e: Entry): boolean => e.budgetSeconds === budgetSeconds && (e.cli ?? 'sources') === cli;
if (!values.force && previous.some(sameRun)) {
  console.log(`memory at ${values.budget}, ${cli}: already in ${OUT} (--force to measure again)`);
  process.exit(0);
}
const stamp = path.join('out', 'main', STAMP_FILE);
if (cli === 'built' && (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== sourceStamp('.'))) {
  throw new Error(
    'out/main is not a build of the sources as they are: run make bundle (or pass --from-source)',
  );
}

/** The children of every process, from /proc/<pid>/stat (field 4 is the parent's pid). */
function childrenOf(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name (field 2) is in parentheses and may hold spaces: read after its end.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return children;
}

function tree(root: number): number[] {
  const children = childrenOf();
  const out: number[] = [];
  const walk = (pid: number): void => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}

function roleOf(pid: number): string | null {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (!args[0]?.endsWith('node')) return null; // a shell or a helper, not part of the product
    const script = args.find((a) => /\.(ts|js)$/.test(a) && !a.includes('tsx'));
    return script ? path.relative(process.cwd(), script) : args.slice(1).join(' ');
  } catch {
    return null;
  }
}

function peakKb(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

const run = mkdtempSync(path.join(tmpdir(), 'distill-memory-'));
const args = [
  'bin/distill-studio.js',
  'distill',
  '--teacher',
  'builtin:mnist-lenet5',
  '--student',
  'lenet5-half',
  '--method',
  'soft-target',
  '--budget',
  values.budget,
  '--test-data',
  'mnist-digits',
  '--run',
  path.join(run, 'job'),
];
const child = spawn(process.execPath, args, {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, DISTILL_STUDIO_FROM_SOURCE: cli === 'sources' ? '1' : '0' },
});
let output = '';
// The line the job printed last on either stream (its progress bars go to stderr, rewritten after
// a carriage return): what it was doing when a peak was reached.
let lastLine = '';
const follow = (text: string): void => {
  lastLine =
    text
      .split(/[\r\n]/)
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? lastLine;
};
child.stdout.on('data', (chunk: Buffer) => {
  const text = chunk.toString();
  output += text;
  follow(text);
  process.stdout.write(chunk);
});
child.stderr.on('data', (chunk: Buffer) => {
  follow(chunk.toString());
  process.stderr.write(chunk);
});
const started = performance.now();
const peaks = new Map<number, ProcessPeak>();
const sample = (): void => {
  if (child.pid === undefined) return;
  for (const pid of tree(child.pid)) {
    const role = roleOf(pid);
    const kb = peakKb(pid);
    if (role === null || kb === null) continue;
    const mb = Math.round(kb / 1024);
    const known = peaks.get(pid);
    if (known && known.peakMb >= mb) continue;
    const seconds = Math.round((performance.now() - started) / 1000);
    peaks.set(pid, { pid, role, peakMb: mb, peakAt: { seconds, during: lastLine } });
  }
};
const timer = setInterval(sample, 500);
const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
clearInterval(timer);
rmSync(run, { recursive: true, force: true });
if (code !== 0) throw new Error(`distill exited with ${code}`);

const lines = output.trim().split('\n');
const entry: Entry = {
  budgetSeconds,
  cores: cpus().length,
  command: `node ${args.slice(0, -2).join(' ')}`,
  cli,
  processes: [...peaks.values()].sort((a, b) => b.peakMb - a.peakMb),
  finalLine: lines.find((l) => /student/i.test(l) && /%/.test(l)) ?? lines.at(-1) ?? '',
  ...roundsOf(output),
  goalMb: GOAL_MB,
  measuredAt: new Date().toISOString(),
};
const runs = [...previous.filter((e) => !sameRun(e)), entry];
await writeFileAtomic(
  OUT,
  JSON.stringify({ note: 'peak resident memory (VmHWM) per process', runs }, null, 2) + '\n',
);
console.log('\npeak resident memory per process:');
for (const p of entry.processes)
  console.log(
    `  ${String(p.peakMb).padStart(5)} MB  ${p.role} (pid ${p.pid}), reached at ${p.peakAt?.seconds ?? '?'} s: ${p.peakAt?.during ?? ''}`,
  );

/** The number of rounds from the job's summary line ("rounds: 30 in 4 min 59 s of a 5 min budget"). */
function roundsOf(text: string): { rounds?: number } {
  const match = /^rounds: (\d+) in /m.exec(text);
  return match ? { rounds: Number(match[1]) } : {};
}
