/** Every architecture, registered by importing its file. */
import './srcnn';
import './srresnet';

export { findModel, getModel, modelNames, parseModelOptions, registerModel } from './registry';
export type { InputSpace, ModelSpec } from './registry';
