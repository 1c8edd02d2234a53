/**
 * DIV2K (Agustsson & Timofte, NTIRE 2017) in its two HR splits: the 800 training images that
 * SRResNet/SRGAN train on, and the 100 validation images used as a benchmark. `div2k` alone means
 * the validation split, as it did before the training split was added.
 */
import type { DatasetSpec } from './types';

/** The URL list and SHA-256 sums tensorflow/datasets publishes for DIV2K (both HR zips are there). */
const DIV2K_SHA256_SOURCE = 'tensorflow/datasets tensorflow_datasets/url_checksums/div2k.txt';
const DIV2K_BASE_URL = 'https://data.vision.ee.ethz.ch/cvl/DIV2K';

/** `DIV2K_<folder>/0801.png` → `0801.png`; every other entry (other folders, the folder itself) → null. */
function hrImageNameIn(folder: string): (entryName: string) => string | null {
  const pattern = new RegExp(`(?:^|/)${folder}/(\\d{4}\\.png)$`);
  return (entryName) => pattern.exec(entryName)?.[1] ?? null;
}

export const div2kTrain: DatasetSpec = {
  name: 'div2k-train',
  family: 'div2k',
  split: 'train',
  title: 'DIV2K (training HR)',
  description: 'Agustsson & Timofte, NTIRE 2017: the 800 training HR images (0001-0800), ETH Zurich',
  url: `${DIV2K_BASE_URL}/DIV2K_train_HR.zip`,
  sha256: '9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335',
  sha256Source: DIV2K_SHA256_SOURCE,
  archiveSize: { bytes: 3_530_603_713, approximate: false },
  imageCount: 800,
  hrImageName: hrImageNameIn('DIV2K_train_HR'),
};

export const div2kValid: DatasetSpec = {
  name: 'div2k-valid',
  aliases: ['div2k'],
  family: 'div2k',
  split: 'valid',
  title: 'DIV2K (validation HR)',
  description: 'Agustsson & Timofte, NTIRE 2017: the 100 validation HR images (0801-0900), ETH Zurich',
  url: `${DIV2K_BASE_URL}/DIV2K_valid_HR.zip`,
  sha256: '20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc',
  sha256Source: DIV2K_SHA256_SOURCE,
  archiveSize: { bytes: 448_993_893, approximate: false },
  imageCount: 100,
  hrImageName: hrImageNameIn('DIV2K_valid_HR'),
};
