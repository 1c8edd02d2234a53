/**
 * `sr data list` / `sr data download vgg19` end to end: the real bin/sr in a child process, a
 * temp SR_DATA_DIR, and a Keras-layout VGG19 file (a few channels per layer) written here and
 * served by the local test server.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import { KERAS_VGG19_NOTOP_FILE, buildVgg19, featureExtractor, loadVggFeatures } from '../../src/models/vgg';
import { expectOneLineError as expectOneLine, runSr, type Run } from '../helpers/cli';
import { useTestBackend } from '../helpers/env';
import { layersOfModel, writeKerasH5 } from '../models/keras-h5-writer';
import { startTestServer, type TestServer } from './download-server';

const UPSTREAM = 'https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5';
const WIDTHS = [2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6];

let work: string;
let dataDir: string;
let server: TestServer;
let reference: tf.LayersModel;
let h5: Buffer;
let h5Sha: string;
let broken: Buffer;

beforeAll(async () => {
  await useTestBackend();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-weights-cli-'));
  dataDir = path.join(work, 'data');
  // Random weights in sr's own layout; the comparison below is against this model.
  reference = buildVgg19(WIDTHS);
  let seed = 1;
  for (const layer of reference.layers) {
    const fresh = layer.getWeights().map((w) => tf.randomNormal(w.shape, 0, 0.5, 'float32', seed++));
    if (fresh.length > 0) layer.setWeights(fresh);
    tf.dispose(fresh);
  }
  const layers = layersOfModel(reference);
  await writeKerasH5(path.join(work, 'good.h5'), layers);
  await writeKerasH5(
    path.join(work, 'broken.h5'),
    layers.filter((l) => l.name !== 'block5_conv4'),
  );
  h5 = fs.readFileSync(path.join(work, 'good.h5'));
  broken = fs.readFileSync(path.join(work, 'broken.h5'));
  h5Sha = sha256(h5);
  server = await startTestServer({
    '/vgg19.h5': { body: h5 },
    '/broken.h5': { body: broken },
    '/page.html': { body: Buffer.from('<html>not here</html>') },
  });
});

afterAll(async () => {
  await server.close();
  fs.rmSync(work, { recursive: true, force: true });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function sr(args: string[], dir = dataDir): Promise<Run> {
  return runSr(args, { SR_DATA_DIR: dir });
}

function expectOneLineError(run: Run): void {
  expectOneLine(run);
  expect(run.stderr.startsWith('sr: ')).toBe(true);
}

test('list shows vgg19 as weights; download --url --sha256 installs it, verified, loadable; a second run reuses it', async () => {
  const [listed, table] = await Promise.all([sr(['data', 'list', '--json', '--weights']), sr(['data', 'list'])]);
  expect(listed.code).toBe(0);
  expect(JSON.parse(listed.stdout)).toEqual([
    expect.objectContaining({
      name: 'vgg19',
      kind: 'weights',
      url: UPSTREAM,
      sha256: null,
      publishedMd5: '253f8cb515780f3b799900260a226db6',
      downloaded: false,
      file: path.join(dataDir, 'vgg19', KERAS_VGG19_NOTOP_FILE),
    }),
  ]);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^vgg19\s+weights\s+80\.1 MB\s+unknown\s+no$/m);
  expect(table.stdout).toContain(`vgg19     ${UPSTREAM}`);

  const download = await sr(['data', 'download', 'vgg19', '--url', server.url('/vgg19.h5'), '--sha256', h5Sha, '--json']);
  expect(download.stderr).toBe('');
  expect(download.code).toBe(0);
  const file = path.join(dataDir, 'vgg19', KERAS_VGG19_NOTOP_FILE);
  expect(JSON.parse(download.stdout)).toMatchObject({
    name: 'vgg19',
    kind: 'weights',
    file,
    alreadyPresent: false,
    url: server.url('/vgg19.h5'),
    bytes: h5.length,
    sha256: h5Sha,
    checksum: 'user-supplied',
    md5: createHash('md5').update(h5).digest('hex'),
    md5MatchesPublished: false,
    layers: 16,
    parameters: reference.countParams(),
    standardWidths: false,
  });
  expect(fs.readFileSync(file).equals(h5)).toBe(true);
  // Only the folder (file + marker) is left: no .part, download or staging folder.
  expect(fs.readdirSync(dataDir)).toEqual(['vgg19']);
  expect(fs.readdirSync(path.join(dataDir, 'vgg19')).sort()).toEqual(['.sr-complete.json', KERAS_VGG19_NOTOP_FILE]);

  // The installed folder is what training passes to loadVggFeatures.
  const loaded = await loadVggFeatures(path.join(dataDir, 'vgg19'), 'vgg54');
  const x = tf.randomUniform([1, 32, 32, 3], -100, 150, 'float32', 3);
  const [a, b] = [loaded.predict(x) as tf.Tensor, featureExtractor(reference, 'block5_conv4').predict(x) as tf.Tensor];
  expect(a.shape).toEqual([1, 2, 2, 6]);
  expect(tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0])).toBeLessThanOrEqual(1e-6);
  tf.dispose([x, a, b]);

  const requests = server.requestsFor('/vgg19.h5').length;
  const [again, after, human] = await Promise.all([
    sr(['data', 'download', 'vgg19', '--url', server.url('/vgg19.h5'), '--sha256', h5Sha, '--json']),
    sr(['data', 'list', '--json', '--weights']),
    sr(['data', 'list']),
  ]);
  expect(JSON.parse(again.stdout)).toMatchObject({ alreadyPresent: true, sha256: h5Sha });
  expect(server.requestsFor('/vgg19.h5')).toHaveLength(requests);
  expect(JSON.parse(after.stdout)[0]).toMatchObject({ downloaded: true, installed: { kind: 'weights', sha256: h5Sha, layers: 16 } });
  expect(human.stdout).toContain(`yes: ${file}`);
});

test('failures: no SHA-256, a file without block5_conv4, a web page; each one line, nothing installed', async () => {
  const dir = path.join(work, 'failures');
  const requestsBefore = server.requests.length;
  const [noChecksum, missingLayer, page, unknown] = await Promise.all([
    sr(['data', 'download', 'vgg19', '--url', server.url('/vgg19.h5')], dir),
    sr(['data', 'download', 'vgg19', '--url', server.url('/broken.h5'), '--sha256', sha256(broken)], dir),
    sr(['data', 'download', 'vgg19', '--url', server.url('/page.html'), '--insecure-skip-checksum'], path.join(work, 'failures-page')),
    sr(['data', 'download', 'vgg20'], dir),
  ]);

  expect(noChecksum.code).toBe(2);
  expectOneLineError(noChecksum);
  expect(noChecksum.stderr).toMatch(
    /vgg19 has no published SHA-256 \(upstream publishes only an MD5, 253f8cb515780f3b799900260a226db6.*--sha256 HEX.*--insecure-skip-checksum/,
  );

  expect(missingLayer.code).toBe(1);
  expectOneLineError(missingLayer);
  expect(missingLayer.stderr).toBe(
    `sr: ${server.url('/broken.h5')}: not VGG19 weights: missing layer block5_conv4 (the download was deleted; nothing was installed)\n`,
  );

  expect(page.code).toBe(1);
  expectOneLineError(page);
  expect(page.stderr).toContain(`${server.url('/page.html')}: not an HDF5 file`);

  expect(unknown.code).toBe(2);
  expectOneLineError(unknown);
  expect(unknown.stderr).toContain('known datasets: set5, set14, bsd100, urban100, div2k-train, div2k-valid; weights: vgg19');

  // The run without a checksum refused before fetching anything.
  expect(server.requests.length - requestsBefore).toBe(2);
  for (const d of [dir, path.join(work, 'failures-page')]) {
    expect(fs.existsSync(path.join(d, 'vgg19'))).toBe(false);
    expect(fs.existsSync(d) ? fs.readdirSync(d) : []).toEqual([]);
  }
});
