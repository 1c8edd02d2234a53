/**
 * A throwaway HTTP server on 127.0.0.1 (ephemeral port) that serves in-memory files and can
 * misbehave on purpose: cut the connection mid-body, ignore Range, go silent, redirect.
 * It records every request so tests can check what the downloader asked for.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface FileRoute {
  body: Buffer;
  /** Answer `Range: bytes=N-` with 206 / 416 (default true); false answers 200 with the whole file. */
  ranges?: boolean;
  /** On the first `times` requests, send the headers and only `bytes` of the body, then drop the socket. */
  cutAfter?: { bytes: number; times: number };
  /** On the first `times` requests, send nothing at all and keep the connection open. */
  stall?: { times: number };
  /** Status to answer with instead of serving the file (e.g. 404). */
  status?: number;
}

export interface RedirectRoute {
  redirect: string;
}

export interface RecordedRequest {
  path: string;
  range?: string;
}

export interface TestServer {
  url(path: string): string;
  requests: RecordedRequest[];
  /** Requests made for one path, in order. */
  requestsFor(path: string): RecordedRequest[];
  close(): Promise<void>;
}

export async function startTestServer(routes: Record<string, FileRoute | RedirectRoute>): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    requests.push({ path, range: req.headers.range });
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    const route = routes[path];
    if (!route) {
      res.writeHead(404).end('not found');
    } else if ('redirect' in route) {
      res.writeHead(302, { location: route.redirect }).end();
    } else {
      serveFile(route, hit, req, res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    requestsFor: (path) => requests.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function serveFile(route: FileRoute, hit: number, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (route.status) {
    res.writeHead(route.status).end();
    return;
  }
  if (route.stall && hit <= route.stall.times) return;

  const { body } = route;
  const start = requestedStart(req.headers.range);
  let payload = body;
  if (start !== undefined && route.ranges !== false) {
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    payload = body.subarray(start);
    res.writeHead(206, {
      'content-length': payload.length,
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      'accept-ranges': 'bytes',
    });
  } else {
    res.writeHead(200, { 'content-length': body.length, 'accept-ranges': route.ranges === false ? 'none' : 'bytes' });
  }

  if (route.cutAfter && hit <= route.cutAfter.times) {
    // end() rather than destroy(): a FIN after the bytes, so the client sees exactly this much.
    res.write(payload.subarray(0, route.cutAfter.bytes), () => res.socket?.end());
    return;
  }
  res.end(payload);
}

function requestedStart(range: string | undefined): number | undefined {
  const match = /^bytes=(\d+)-$/.exec(range ?? '');
  return match ? Number(match[1]) : undefined;
}
