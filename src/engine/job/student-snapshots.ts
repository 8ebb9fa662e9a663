import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../shared/errors.js';

/**
 * Copies of the student after each round, kept until the round they make
 * images for is on disk (a pipelined round uses the student of two rounds
 * before, which the checkpoint no longer holds). A copy is made right after
 * the checkpoint; one lost to a kill in between is made again from the
 * checkpoint, which then still holds that round's student.
 */
export class StudentSnapshots {
  constructor(
    private readonly dir: string,
    private readonly checkpointDir: string,
  ) {}

  private path(round: number): string {
    return path.join(this.dir, `round-${round}`);
  }

  /** Copies the checkpoint's student as the student after `round`. */
  async keep(round: number): Promise<void> {
    const target = this.path(round);
    await fs.mkdir(this.dir, { recursive: true });
    const tmp = `${target}.tmp`;
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.cp(path.join(this.checkpointDir, 'student'), tmp, { recursive: true });
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(tmp, target);
  }

  /** The folder of the student after `round`; `checkpointed` is the round the checkpoint holds. */
  async folder(round: number, checkpointed: number): Promise<string> {
    if (existsSync(path.join(this.path(round), 'model.json'))) return this.path(round);
    if (round === checkpointed) {
      await this.keep(round);
      return this.path(round);
    }
    throw new UserError(
      'CHECKPOINT_DAMAGED',
      `The student after round ${round}, needed to make the next images, is missing from ${this.dir}`,
      'Delete the checkpoint folder of the run; the job will restart its rounds from the images on disk',
    );
  }

  /** Drops the student after `round` once the images it was kept for are on disk. */
  async release(round: number): Promise<void> {
    if (round >= 1) await fs.rm(this.path(round), { recursive: true, force: true });
  }
}
