import type { Vault } from './store.js';

export type InventoryFormat = 'JSON' | 'CSV';

/** Quotes a CSV field the way Glacier's inventory does: in double quotes, inner quotes backslash-escaped. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '\\"')}"` : value;
}

/** The vault inventory document in the format an inventory-retrieval job asked for. */
export function renderInventory(vault: Vault, format: InventoryFormat, inventoryDate: string): Buffer {
  const archives = [...vault.archives.values()];
  if (format === 'CSV') {
    const lines = ['ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash'];
    for (const a of archives) {
      lines.push(
        [a.id, csvField(a.description), a.creationDate, String(a.content.size), a.content.treeHash()].join(','),
      );
    }
    return Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
  }
  const list = archives.map((a) => ({
    ArchiveId: a.id,
    ArchiveDescription: a.description,
    CreationDate: a.creationDate,
    Size: a.content.size,
    SHA256TreeHash: a.content.treeHash(),
  }));
  return Buffer.from(JSON.stringify({ VaultARN: vault.arn, InventoryDate: inventoryDate, ArchiveList: list }), 'utf8');
}
