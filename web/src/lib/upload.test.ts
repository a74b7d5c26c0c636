import { describe, expect, it, vi } from 'vitest';
import { fileSize, sameOrigin, sha256Hex, uploadErrorText, uploadFile, type Put } from './upload';

const bytes = new TextEncoder().encode('%PDF-1.4 hello');
const file = () => new File([bytes], 'notes.pdf', { type: 'application/pdf' });
const item = { __typename: 'ContentItemSuccess' as const, item: { id: 'i1' } };

describe('sha256Hex', () => {
  it('gives the SHA-256 the server computes, in hex', async () => {
    // sha256("abc"), the FIPS 180-2 test vector.
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256Hex(new Blob(['abc']))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('uploadFile', () => {
  it('announces name, size and checksum, PUTs the bytes on this origin with progress, then completes', async () => {
    const request = vi.fn(async () => ({ __typename: 'UploadTicket' as const, uploadId: 'u1', url: 'http://platform.example:4000/content/uploads/u1?expires=9&signature=s' }));
    const sent: { url: string; size: number }[] = [];
    const put: Put = async (url, body, onProgress) => {
      sent.push({ url, size: body.size });
      onProgress(0.5);
      onProgress(1);
      return 201;
    };
    const complete = vi.fn(async () => item);
    const progress: [string, number][] = [];
    const outcome = await uploadFile(file(), { request, complete, put, onProgress: (phase, f) => progress.push([phase, f]) });

    expect(outcome).toEqual({ ok: true, item });
    expect(request).toHaveBeenCalledWith({ name: 'notes.pdf', size: bytes.length, checksum: 'f31cdee0b4d4fdae0638872f6bb7d0e6ee041386a9055d5e64c25d9d35dc88d1' });
    expect(sent).toEqual([{ url: '/content/uploads/u1?expires=9&signature=s', size: bytes.length }]);
    expect(complete).toHaveBeenCalledWith('u1');
    expect(progress).toEqual([
      ['hashing', 0],
      ['sending', 0],
      ['sending', 0.5],
      ['sending', 1],
      ['checking', 1],
    ]);
  });

  it('stops at a refused request (quota) without sending anything', async () => {
    const quota = { __typename: 'QuotaExceededError', code: 'QUOTA_EXCEEDED', message: 'Quota exceeded.', quotaBytes: 1000, usedBytes: 990, requestedBytes: 14 };
    const put = vi.fn<Put>();
    const complete = vi.fn();
    const outcome = await uploadFile(file(), { request: async () => quota, complete, put });
    expect(outcome).toEqual({ ok: false, error: quota });
    expect(put).not.toHaveBeenCalled();
    expect(complete).not.toHaveBeenCalled();
  });

  it('reports a refused type from completeUpload as its typed error', async () => {
    const refused = { __typename: 'ValidationError', code: 'VALIDATION', message: 'Invalid input.', fieldErrors: [{ field: 'file', message: 'This type of file is not allowed.' }] };
    const outcome = await uploadFile(file(), {
      request: async () => ({ __typename: 'UploadTicket', uploadId: 'u1', url: '/content/uploads/u1' }),
      put: async () => 200,
      complete: async () => refused,
    });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && uploadErrorText(outcome.error)).toBe('Invalid input. This type of file is not allowed.');
  });

  it('says a 413 means too large, and does not complete', async () => {
    const complete = vi.fn();
    const outcome = await uploadFile(file(), {
      request: async () => ({ __typename: 'UploadTicket', uploadId: 'u1', url: '/content/uploads/u1' }),
      put: async () => 413,
      complete,
    });
    expect(outcome).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
    expect(complete).not.toHaveBeenCalled();
  });

  it('says a network failure while sending is one', async () => {
    const outcome = await uploadFile(file(), {
      request: async () => ({ __typename: 'UploadTicket', uploadId: 'u1', url: '/content/uploads/u1' }),
      put: async () => {
        throw new Error('network');
      },
      complete: vi.fn(),
    });
    expect(outcome).toMatchObject({ ok: false, error: { code: 'NETWORK' } });
  });
});

describe('display helpers', () => {
  it('explains a quota refusal with the figures', () => {
    expect(uploadErrorText({ __typename: 'QuotaExceededError', code: 'QUOTA_EXCEEDED', message: 'Quota exceeded.', quotaBytes: 10_000_000, usedBytes: 9_500_000, requestedBytes: 800_000 } as never)).toBe(
      'Quota exceeded. The organization uses 9.5 MB of 10 MB; this file needs 800 KB.',
    );
  });

  it('sizes files and keeps signed links on this origin', () => {
    expect(fileSize(999)).toBe('999 B');
    expect(fileSize(1536)).toBe('1.5 KB');
    expect(fileSize(25_000_000)).toBe('25 MB');
    expect(sameOrigin('https://cdn.example/content/items/a/versions/b?sig=1')).toBe('/content/items/a/versions/b?sig=1');
  });
});
