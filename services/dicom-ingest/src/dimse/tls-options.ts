import { readFile } from 'node:fs/promises';
import type { TlsOptions } from 'node:tls';

/** What the TLS port serves with: the node's certificate, and the CA of client certificates if they are required. */
export interface DicomTlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** When set, a peer must present a certificate issued by one of these (mutual TLS). */
  ca: Buffer | undefined;
}

/**
 * The cipher suites of the DICOM BCP 195 TLS profiles (PS3.15 B.9, B.10; RFC 7525 / BCP 195):
 * forward secret, AEAD only. TLS 1.3 suites are all AEAD and listed too.
 */
export const BCP195_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
].join(':');

/** TLS 1.2 or later with the BCP 195 suites; a handshake not finished within ARTIM is dropped. */
export function dicomTlsServerOptions(material: DicomTlsMaterial, handshakeTimeoutMs: number): TlsOptions {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    requestCert: material.ca !== undefined,
    rejectUnauthorized: material.ca !== undefined,
    minVersion: 'TLSv1.2',
    ciphers: BCP195_CIPHERS,
    honorCipherOrder: true,
    handshakeTimeout: handshakeTimeoutMs,
  };
}

export interface DicomTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string | undefined;
}

/** Reads the PEM files named in the configuration; a missing or unreadable file stops the start. */
export async function readDicomTlsMaterial(files: DicomTlsFiles): Promise<DicomTlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    readFile(files.certFile),
    readFile(files.keyFile),
    files.caFile === undefined ? undefined : readFile(files.caFile),
  ]);
  return { cert, key, ca };
}
