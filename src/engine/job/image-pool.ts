/** The growing transfer set in memory: every round's images and the teacher's logits on them. */
export class ImagePool {
  count = 0;
  private inputs: Float32Array;
  private logits: Float32Array;

  constructor(
    readonly pixelsPerImage: number,
    readonly numClasses: number,
  ) {
    this.inputs = new Float32Array(0);
    this.logits = new Float32Array(0);
  }

  add(batch: { count: number; inputs: Float32Array; logits: Float32Array }): void {
    const needed = this.count + batch.count;
    if (needed * this.pixelsPerImage > this.inputs.length) {
      const capacity = Math.max(needed, this.count * 2);
      const inputs = new Float32Array(capacity * this.pixelsPerImage);
      inputs.set(this.inputs.subarray(0, this.count * this.pixelsPerImage));
      const logits = new Float32Array(capacity * this.numClasses);
      logits.set(this.logits.subarray(0, this.count * this.numClasses));
      this.inputs = inputs;
      this.logits = logits;
    }
    this.inputs.set(
      batch.inputs.subarray(0, batch.count * this.pixelsPerImage),
      this.count * this.pixelsPerImage,
    );
    this.logits.set(batch.logits.subarray(0, batch.count * this.numClasses), this.count * this.numClasses);
    this.count = needed;
  }

  /** The images and logits held, as views (valid until the next add). */
  data(): { count: number; inputs: Float32Array; logits: Float32Array } {
    return {
      count: this.count,
      inputs: this.inputs.subarray(0, this.count * this.pixelsPerImage),
      logits: this.logits.subarray(0, this.count * this.numClasses),
    };
  }
}
