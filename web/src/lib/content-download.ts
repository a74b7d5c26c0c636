// File downloads from the content subgraph. A signed link lives a few minutes and is the credential, so it
// is asked for at each click (never kept in the page) and opened on this origin (the router forwards
// /content/*), as a download named after the file.
import type { Client } from 'urql';
import { graphql } from '../gql';
import { sameOrigin } from './upload';

const FreshLink = graphql(`
  query ContentDownloadLink($id: ID!) {
    contentItem(id: $id) {
      id
      downloadUrl
    }
  }
`);

const FreshVersionLinks = graphql(`
  query ContentVersionLinks($id: ID!) {
    contentItem(id: $id) {
      id
      versions(first: 100) { nodes { id downloadUrl } }
    }
  }
`);

/** A fresh signed link to the item's current version (or to one of its versions), on this origin. */
export async function freshDownloadUrl(client: Client, itemId: string, versionId?: string): Promise<string> {
  let url: string | null | undefined;
  if (versionId) {
    const { data, error } = await client.query(FreshVersionLinks, { id: itemId }, { requestPolicy: 'network-only' }).toPromise();
    if (error) throw error;
    url = data?.contentItem?.versions.nodes.find((v) => v.id === versionId)?.downloadUrl;
  } else {
    const { data, error } = await client.query(FreshLink, { id: itemId }, { requestPolicy: 'network-only' }).toPromise();
    if (error) throw error;
    url = data?.contentItem?.downloadUrl;
  }
  if (!url) throw new Error('This file is no longer available.');
  return sameOrigin(url);
}

/** Asks for a fresh link and lets the browser download it under the file's name. */
export async function downloadContent(client: Client, itemId: string, name: string, versionId?: string): Promise<void> {
  const link = document.createElement('a');
  link.href = await freshDownloadUrl(client, itemId, versionId);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
}
