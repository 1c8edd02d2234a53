/**
 * Preloaded (node --require) by tests that need ONNX Runtime to fail to load, as it does where
 * its native library cannot be opened: any require of onnxruntime-node throws.
 */
const Module = require('module');

const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'onnxruntime-node') throw new Error('libonnxruntime.so.1: cannot open shared object file (made to fail by the test)');
  return load.call(this, request, ...rest);
};
