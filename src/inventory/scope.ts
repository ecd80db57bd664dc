import { DescribeVaultCommand, type GlacierClient } from '@aws-sdk/client-glacier';

/**
 * What the inventory a transfer copies from covers: Glacier's inventory is a snapshot taken about once a day, so
 * archives uploaded since its date are not in it. Beside it, what the vault's last inventory counts
 * (DescribeVault), when that was known.
 */
export interface InventoryScope {
  /** The inventory's own date (JSON inventories carry one; CSV ones do not) */
  date?: string;
  /** Entries the inventory lists, readable or not */
  listed: number;
  vault?: VaultInventory;
}

/** DescribeVault's account of the vault's last inventory. */
export interface VaultInventory {
  date: string;
  archives: number;
}

/** The vault's last inventory as DescribeVault counts it; undefined before Glacier has taken one. */
export async function describeVaultInventory(glacier: GlacierClient, vault: string): Promise<VaultInventory | undefined> {
  const out = await glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName: vault }));
  if (!out.LastInventoryDate || out.NumberOfArchives === undefined) return undefined;
  return { date: out.LastInventoryDate, archives: out.NumberOfArchives };
}

/** Archives the vault's last inventory counts beyond those the copied inventory lists (0 when none or unknown). */
export function unlisted(scope: InventoryScope): number {
  return Math.max(0, (scope.vault?.archives ?? 0) - scope.listed);
}

/** Why the copy may leave archives out: the vault's last inventory counts more than the inventory lists. */
export function scopeWarning(scope: InventoryScope, vaultName: string): string | undefined {
  const missing = unlisted(scope);
  if (missing === 0) return undefined;
  return `vault ${vaultName} held ${scope.vault!.archives} archives at its last inventory (${scope.vault!.date}), ${missing} more than the inventory copied lists; run another start once they are listed`;
}

/** One line per thing a user must know about what the copy covers. */
export function describeScope(scope: InventoryScope, vaultName: string): string[] {
  const warning = scopeWarning(scope, vaultName);
  return [
    scope.date
      ? `the copy covers vault ${vaultName} as of its inventory of ${scope.date}: archives uploaded since are not in it`
      : `the copy covers the archives its inventory lists (the inventory does not say its date)`,
    ...(warning ? [`warning: ${warning}`] : []),
  ];
}
