// Report downloads (`csvUrl`): the server wants the same Bearer token as the graph, which a plain link cannot
// send, so the file is fetched with it and handed to the browser as a download.
import { session } from './session';

export async function downloadWithToken(url: string, filename: string): Promise<void> {
  // Always from this origin: the router forwards /reports/* (the configured public URL may name another host).
  const parsed = new URL(url, window.location.href);
  const token = await session.token();
  const response = await fetch(parsed.pathname + parsed.search, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    credentials: 'same-origin',
  });
  if (!response.ok) throw new Error(response.status === 403 ? 'You may not download this report.' : `The download failed (HTTP ${response.status}).`);
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
