// Uploading a file to the content subgraph: announce it (`requestUpload` with its size and SHA-256), PUT the
// bytes to the signed URL (with progress: fetch cannot report upload progress, XMLHttpRequest can), then
// `completeUpload`, which checks size, checksum and the type sniffed from the bytes. The GraphQL calls are
// passed in, so this runs the same in the page and in the unit tests.
import type { TypedError } from './errors';
import { typedError } from './errors';

/** SHA-256 of the bytes, 64 lowercase hexadecimal digits (what `requestUpload` wants as `checksum`). */
export async function sha256Hex(data: Blob | ArrayBuffer | Uint8Array): Promise<string> {
  const bytes = data instanceof Blob ? await data.arrayBuffer() : data;
  // A view, not the bare ArrayBuffer: jsdom (the unit tests) has its own ArrayBuffer, which Node's digest refuses.
  const digest = await crypto.subtle.digest('SHA-256', new Uint8Array(bytes as ArrayBuffer));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface UploadTicket {
  __typename: 'UploadTicket';
  uploadId: string;
  url: string;
}

export type Put = (url: string, body: Blob, onProgress: (fraction: number) => void) => Promise<number>;

export interface UploadSteps<TItem> {
  /** requestUpload: the ticket, or the typed error (quota, forbidden, validation …). */
  request: (input: { name: string; size: number; checksum: string }) => Promise<UploadTicket | { __typename: string } | null | undefined>;
  /** completeUpload: the stored item, or the typed error (a refused type, a checksum mismatch, quota …). */
  complete: (uploadId: string) => Promise<TItem | { __typename: string } | null | undefined>;
  put?: Put;
  /** 'hashing' while reading the file, then 0-1 while its bytes are sent. */
  onProgress?: (phase: 'hashing' | 'sending' | 'checking', fraction: number) => void;
}

export type UploadOutcome<TItem> = { ok: true; item: TItem } | { ok: false; error: TypedError };

const failed = (code: string, message: string): { ok: false; error: TypedError } => ({
  ok: false,
  error: { __typename: 'UploadFailed', code, message },
});

export async function uploadFile<TItem extends { __typename: string }>(
  file: File,
  { request, complete, put = putWithProgress, onProgress = () => {} }: UploadSteps<TItem>,
): Promise<UploadOutcome<TItem>> {
  onProgress('hashing', 0);
  const checksum = await sha256Hex(file);
  const ticket = await request({ name: file.name, size: file.size, checksum });
  const refused = typedError(ticket);
  if (refused) return { ok: false, error: refused };
  if (ticket?.__typename !== 'UploadTicket') return failed('UNEXPECTED', 'The upload could not be started. Try again.');
  const { uploadId, url } = ticket as UploadTicket;
  onProgress('sending', 0);
  let status: number;
  try {
    status = await put(sameOrigin(url), file, (fraction) => onProgress('sending', fraction));
  } catch {
    return failed('NETWORK', 'The file could not be sent. Check your connection and try again.');
  }
  if (status === 413) return failed('TOO_LARGE', 'The file is larger than announced or than the server accepts.');
  if (status < 200 || status >= 300) return failed('UPLOAD_FAILED', `The file could not be sent (HTTP ${status}). Try again.`);
  onProgress('checking', 1);
  const done = await complete(uploadId);
  const error = typedError(done);
  if (error) return { ok: false, error };
  if (!done) return failed('UNEXPECTED', 'The upload could not be completed. Try again.');
  return { ok: true, item: done as TItem };
}

/** Signed links name the platform's public URL; the router serves /content/* on this origin too. */
export function sameOrigin(url: string): string {
  const parsed = new URL(url, window.location.href);
  return parsed.pathname + parsed.search;
}

/** PUT the bytes, reporting 0-1 as they leave; resolves with the HTTP status. */
export const putWithProgress: Put = (url, body, onProgress) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      onProgress(1);
      resolve(xhr.status);
    };
    xhr.onerror = () => reject(new Error('network'));
    xhr.onabort = () => reject(new Error('aborted'));
    xhr.send(body);
  });

/** 1536 -> "1.5 KB" (decimal units, as file managers show them). */
export function fileSize(bytes: number | null | undefined): string {
  if (bytes == null) return '';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** The typed errors of an upload, said for an instructor (the server's message plus what to do). */
export function uploadErrorText(error: TypedError & { quotaBytes?: number; usedBytes?: number; requestedBytes?: number }): string {
  if (error.__typename === 'QuotaExceededError' && error.quotaBytes != null) {
    return `${error.message} The organization uses ${fileSize(error.usedBytes)} of ${fileSize(error.quotaBytes)}; this file needs ${fileSize(error.requestedBytes)}.`;
  }
  const fields = error.fieldErrors?.map((f) => f.message).filter((m) => m && m !== error.message) ?? [];
  return [error.message, ...fields].join(' ');
}
