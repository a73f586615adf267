import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { eventually } from './wait';

/**
 * Debian's Orthanc with its DICOMweb plugin, on loopback and free ports, as a DICOMweb client that is
 * not ours: it pulls studies from a remote DICOMweb server with the HTTP headers it is given.
 */
export interface OrthancPeer {
  url: string;
  /** Asks Orthanc to retrieve a study (or a series of it) from the remote DICOMweb server `remote`. */
  pull: (resource: { Study: string; Series?: string }) => Promise<{ status: number; body: string }>;
  /** The DICOM files Orthanc holds now, as bytes. */
  files: () => Promise<Buffer[]>;
  stop: () => Promise<void>;
}

export const ORTHANC_DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export async function startOrthanc(remote: { url: string; headers: Record<string, string> }): Promise<OrthancPeer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'orthanc-peer-'));
  const [httpPort, dicomPort] = [await freePort(), await freePort()];
  const config = {
    Name: 'PEER',
    HttpPort: httpPort,
    DicomPort: dicomPort,
    StorageDirectory: dir,
    IndexDirectory: dir,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    HttpTimeout: 60,
    Plugins: [ORTHANC_DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/', Servers: { facade: { Url: `${remote.url.replace(/\/+$/, '')}/`, HttpHeaders: remote.headers } } },
  };
  const file = path.join(dir, 'orthanc.json');
  writeFileSync(file, JSON.stringify(config));
  const child: ChildProcess = spawn('Orthanc', [file], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${httpPort}`;
  await eventually(async () => ((await fetch(`${url}/system`)).ok ? true : undefined), { timeoutMs: 30_000, what: 'Orthanc to answer' });
  return {
    url,
    pull: async (resource) => {
      const response = await fetch(`${url}/dicom-web/servers/facade/retrieve`, { method: 'POST', body: JSON.stringify({ Resources: [resource] }) });
      return { status: response.status, body: await response.text() };
    },
    files: async () => {
      const ids = (await (await fetch(`${url}/instances`)).json()) as string[];
      return Promise.all(ids.map(async (id) => Buffer.from(await (await fetch(`${url}/instances/${id}/file`)).arrayBuffer())));
    },
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
