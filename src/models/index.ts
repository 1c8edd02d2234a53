/** Architectures by name (every one registered), and what a trained network is. */
import './architectures';

export {
  findArchitecture,
  getArchitecture,
  architectureNames,
  parseArchitectureOptions,
  registerArchitecture,
  sameNetwork,
} from './registry';
export type { InputSpace, ArchitectureSpec } from './registry';
export { describeNetwork, type NetworkDescription, type NetworkPlumbing, type ShownNetwork } from './description';
