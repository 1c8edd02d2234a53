import type { DatasetSpec } from './types';
import { SELFEXSR_SHA256_SOURCE, selfExSrHrImageName } from './selfexsr';

export const set5: DatasetSpec = {
  name: 'set5',
  title: 'Set5',
  description: 'Bevilacqua et al. BMVC 2012: 5 images (SelfExSR release, HR crops for ×4)',
  // Link given in the SelfExSR README; also mirrored at filebox.ece.vt.edu/~jbhuang/project/selfexsr/Set5_SR.zip.
  url: 'https://uofi.box.com/shared/static/kfahv87nfe8ax910l85dksyl2q212voc.zip',
  sha256: null,
  sha256Source: SELFEXSR_SHA256_SOURCE,
  archiveSize: { bytes: 16_100_000, approximate: true },
  imageCount: 5,
  hrImageName: (entry) => selfExSrHrImageName(entry),
};
