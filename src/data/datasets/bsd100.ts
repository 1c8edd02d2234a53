import type { DatasetSpec } from './types';
import { SELFEXSR_SHA256_SOURCE, selfExSrHrImageName } from './selfexsr';

export const bsd100: DatasetSpec = {
  name: 'bsd100',
  title: 'BSD100',
  description: 'Martin et al. ICCV 2001 (BSDS300 test split): 100 images (SelfExSR release, HR crops for ×4)',
  // Link given in the SelfExSR README; also mirrored at filebox.ece.vt.edu/~jbhuang/project/selfexsr/BSD100_SR.zip.
  url: 'https://uofi.box.com/shared/static/qgctsplb8txrksm9to9x01zfa4m61ngq.zip',
  sha256: null,
  sha256Source: SELFEXSR_SHA256_SOURCE,
  archiveSize: { bytes: 568_000_000, approximate: true },
  imageCount: 100,
  hrImageName: (entry) => selfExSrHrImageName(entry),
};
