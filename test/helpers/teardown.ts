/**
 * Runs after every test file (jest setupFilesAfterEnv): each file gets a fresh module registry and
 * so its own wasm backend; stopping it ends its worker threads before the next file starts.
 */
import { shutdownBackend } from '../../src/runtime/tfjs';

afterAll(() => shutdownBackend());
