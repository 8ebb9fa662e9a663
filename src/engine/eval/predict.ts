import { toInputTensor } from '../data/preprocess.js';
import type { ImageShape, LabeledImages, Preprocessing } from '../data/types.js';
import { tf, type tfl } from '../tf.js';

/** What is needed to feed a model labelled images: its input shape and preprocessing. */
export interface ModelInput {
  model: tfl.LayersModel;
  inputShape: ImageShape;
  preprocessing: Preprocessing;
}

/** Arg-max class of each image in [start, end) of a labelled set. */
export async function predictClasses(
  subject: ModelInput,
  data: LabeledImages,
  start: number,
  end: number,
): Promise<Int32Array> {
  const classes = tf.tidy(() => {
    const x = toInputTensor(data, { start, end }, subject.preprocessing, subject.inputShape);
    return tf.argMax(subject.model.predict(x) as tf.Tensor, -1);
  });
  const values = (await classes.data()) as Int32Array;
  classes.dispose();
  return values;
}
