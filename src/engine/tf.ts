/**
 * The one place the engine imports TensorFlow.js from. Backends register
 * themselves in backend/select.ts; everything else imports `tf` and `tfl`
 * from here so that a single tfjs-core instance is used throughout.
 */
export * as tf from '@tensorflow/tfjs-core';
export * as tfl from '@tensorflow/tfjs-layers';
