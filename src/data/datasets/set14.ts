import type { DatasetSpec } from './types';
import { SELFEXSR_SHA256_SOURCE, selfExSrHrImageName } from './selfexsr';

export const set14: DatasetSpec = {
  name: 'set14',
  title: 'Set14',
  description: 'Zeyde et al. 2010: 14 images (SelfExSR release, HR crops for ×4)',
  // Link given in the SelfExSR README; also mirrored at filebox.ece.vt.edu/~jbhuang/project/selfexsr/Set14_SR.zip.
  url: 'https://uofi.box.com/shared/static/igsnfieh4lz68l926l8xbklwsnnk8we9.zip',
  sha256: null,
  sha256Source: SELFEXSR_SHA256_SOURCE,
  archiveSize: { bytes: 86_000_000, approximate: true },
  imageCount: 14,
  hrImageName: (entry) => selfExSrHrImageName(entry),
};
