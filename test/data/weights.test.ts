/** The weights registry and installer in process: names, resume after a cut, --force keeping the old copy on failure. */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { DATASETS } from '../../src/data/datasets';
import { WEIGHTS, installWeights, readWeightsMarker, vgg19Weights } from '../../src/data/weights';
import { KERAS_VGG19_NOTOP_FILE, buildVgg19 } from '../../src/models/vgg';
import { tempDir, useTestBackend } from '../helpers/env';
import { layersOfModel, writeKerasH5 } from '../models/keras-h5-writer';
import { startTestServer, type TestServer } from './download-server';

let work: string;
let server: TestServer;
let good: Buffer;
let broken: Buffer;

beforeAll(async () => {
  await useTestBackend();
  work = tempDir('sr-weights-');
  const layers = layersOfModel(buildVgg19([2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4]));
  await writeKerasH5(path.join(work, 'good.h5'), layers);
  await writeKerasH5(
    path.join(work, 'broken.h5'),
    layers.filter((l) => l.name !== 'block1_conv2'),
  );
  good = fs.readFileSync(path.join(work, 'good.h5'));
  broken = fs.readFileSync(path.join(work, 'broken.h5'));
  server = await startTestServer({
    '/cut.h5': { body: good, cutAfter: { bytes: 3000, times: 1 } },
    '/broken.h5': { body: broken },
  });
});

afterAll(async () => {
  await server.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('weights names never collide with dataset names (they share the datasets folder)', () => {
  const datasets = new Set(DATASETS.map((d) => d.name));
  expect(WEIGHTS.map((w) => w.name).filter((n) => datasets.has(n))).toEqual([]);
});

test('a dropped connection is resumed; --force with a bad file keeps the installed copy', async () => {
  const root = path.join(work, 'root');
  const installed = await installWeights(vgg19Weights, { root, url: server.url('/cut.h5'), sha256: sha(good), retryDelayMs: 1 });
  expect(installed.alreadyPresent).toBe(false);
  expect(server.requestsFor('/cut.h5').map((r) => r.range)).toEqual([undefined, 'bytes=3000-']);
  expect(fs.readFileSync(path.join(root, 'vgg19', KERAS_VGG19_NOTOP_FILE)).equals(good)).toBe(true);

  await expect(installWeights(vgg19Weights, { root, url: server.url('/broken.h5'), sha256: sha(broken), force: true })).rejects.toThrow(
    /missing layer block1_conv2 \(the download was deleted; nothing was installed\)/,
  );
  expect(readWeightsMarker(path.join(root, 'vgg19'))).toMatchObject({ sha256: sha(good), checksum: 'user-supplied' });
  expect(fs.readdirSync(root)).toEqual(['vgg19']);

  // A marker whose file has gone reads as "not downloaded".
  fs.rmSync(path.join(root, 'vgg19', KERAS_VGG19_NOTOP_FILE));
  expect(readWeightsMarker(path.join(root, 'vgg19'))).toBeNull();
});
