/** What the registry knows about one downloadable benchmark set. */
export interface DatasetSpec {
  /** Registry key, lower case: `sr data download <name>`; also the folder it installs to. */
  name: string;
  /** Other names that find it (lower case), e.g. `div2k` for `div2k-valid`. */
  aliases?: readonly string[];
  /** For one split of a set: the set's name and the split's, so `<family> --split <split>` finds it. */
  family?: string;
  split?: string;
  /** How papers write it (Set5, DIV2K). */
  title: string;
  description: string;
  /** The zip archive upstream. */
  url: string;
  /**
   * SHA-256 of that archive as published by someone other than us, or null when no published
   * hash was found: such a download needs `--sha256 HEX` or `--insecure-skip-checksum`.
   */
  sha256: string | null;
  /** Where the SHA-256 (or the lack of one) comes from, for people checking the registry. */
  sha256Source: string;
  archiveSize?: { bytes: number; approximate: boolean };
  /** How many HR images a correct download yields; anything else fails the install. */
  imageCount: number;
  /** Maps an archive entry name to the HR image file name it becomes, or null to skip the entry. */
  hrImageName(entryName: string): string | null;
}
