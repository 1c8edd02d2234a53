import type { DatasetSpec } from './types';

/** `DIV2K_valid_HR/0801.png` … `0900.png` → `0801.png` …; every other entry → null. */
function div2kValidHrImageName(entryName: string): string | null {
  const match = /(?:^|\/)DIV2K_valid_HR\/(\d{4}\.png)$/.exec(entryName);
  return match ? match[1] : null;
}

export const div2k: DatasetSpec = {
  name: 'div2k',
  title: 'DIV2K (validation HR)',
  description: 'Agustsson & Timofte, NTIRE 2017: the 100 validation HR images (0801-0900), ETH Zurich',
  url: 'https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_valid_HR.zip',
  sha256: '20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc',
  sha256Source: 'tensorflow/datasets tensorflow_datasets/url_checksums/div2k.txt',
  archiveSize: { bytes: 448_993_893, approximate: false },
  imageCount: 100,
  hrImageName: div2kValidHrImageName,
};
