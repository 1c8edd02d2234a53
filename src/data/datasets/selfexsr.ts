/**
 * Layout of the benchmark archives published with SelfExSR (Huang, Singh & Ahuja, CVPR 2015,
 * https://github.com/jbhuang0604/SelfExSR): folders image_SRF_2, image_SRF_3, image_SRF_4 (some
 * sets lack ×3), each holding every compared method's output beside `<img>_SRF_<s>_HR.png`, the
 * ground truth cropped to a multiple of s, and `<img>_SRF_<s>_LR.png`. Some archives put these
 * folders at the top, others under a folder named after the set, so any prefix is accepted.
 */

/** The scale folder HR images are taken from: every one of the four sets has ×4 (Urban100 has no ×3). */
export const SELFEXSR_HR_SCALE = 4;

/** `…/image_SRF_4/img_001_SRF_4_HR.png` → `img_001.png`; every other entry → null. */
export function selfExSrHrImageName(entryName: string, scale = SELFEXSR_HR_SCALE): string | null {
  const pattern = new RegExp(`(?:^|/)image_SRF_${scale}/([^/]+)_SRF_${scale}_HR\\.png$`);
  const match = pattern.exec(entryName);
  return match ? `${match[1]}.png` : null;
}

/** No SHA-256 of these archives is published by the authors or by any downloader we could find. */
export const SELFEXSR_SHA256_SOURCE =
  'none published (SelfExSR README gives only links; torchsr/deepinv check MD5s of other archives or of extracted folders)';
