/**
 * How far the making of a round's images has got, from its shards' progress reports, as the
 * round pipeline shows it: the images of the newest round being made (0 up to the round's size),
 * and the images made in all, for the rate. Pipelined, the next round's shards start while this
 * one's student trains: the bar then starts again from 0 for that round instead of adding it to
 * the round before (which showed 840 of 800).
 */
export class RoundProgress {
  private round = -1;
  /** Images made so far by each shard of the newest round, and whether the shard is finished. */
  private readonly shards = new Map<number, { made: number; finished: boolean }>();
  private finishedCount = 0;

  constructor(private readonly shardsPerRound: number) {}

  /** Shard `index` has made `made` images (fractions count: an image half optimised is 0.5). */
  progress(index: number, made: number): void {
    const shard = this.shardOf(index);
    if (shard && !shard.finished) shard.made = made;
  }

  /** Shard `index` is saved, with `count` images. */
  finished(index: number, count: number): void {
    const shard = this.shardOf(index);
    this.finishedCount += count;
    if (shard) Object.assign(shard, { made: count, finished: true });
  }

  /** Images of finished shards, of every round. */
  get finishedImages(): number {
    return this.finishedCount;
  }

  /** Images of the newest round made so far. */
  get roundImages(): number {
    let sum = 0;
    for (const s of this.shards.values()) sum += s.made;
    return sum;
  }

  /** Images made in all: finished shards' images and the unfinished shards' progress. */
  get totalImages(): number {
    let sum = this.finishedCount;
    for (const s of this.shards.values()) if (!s.finished) sum += s.made;
    return sum;
  }

  /** The shard's entry, opened when its round is the newest; undefined for a round already passed. */
  private shardOf(index: number): { made: number; finished: boolean } | undefined {
    const round = Math.floor(index / this.shardsPerRound);
    if (round < this.round) return undefined;
    if (round > this.round) {
      this.round = round;
      this.shards.clear();
    }
    let shard = this.shards.get(index);
    if (!shard) {
      shard = { made: 0, finished: false };
      this.shards.set(index, shard);
    }
    return shard;
  }
}
