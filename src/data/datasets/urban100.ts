import type { DatasetSpec } from './types';
import { SELFEXSR_SHA256_SOURCE, selfExSrHrImageName } from './selfexsr';

export const urban100: DatasetSpec = {
  name: 'urban100',
  title: 'Urban100',
  description: 'Huang et al. CVPR 2015: 100 urban scenes (SelfExSR release, HR crops for ×4)',
  // Link given in the SelfExSR README; also mirrored at filebox.ece.vt.edu/~jbhuang/project/selfexsr/Urban100_SR.zip.
  url: 'https://uofi.box.com/shared/static/65upg43jjd0a4cwsiqgl6o6ixube6klm.zip',
  sha256: null,
  sha256Source: SELFEXSR_SHA256_SOURCE,
  archiveSize: { bytes: 1_140_000_000, approximate: true },
  imageCount: 100,
  hrImageName: (entry) => selfExSrHrImageName(entry),
};
