// AzureTarget: which VM a device is (a VM or a scale-set instance), its ARM resource path and name (pure).

export type AzureTarget =
  | { subscriptionId: string; resourceGroup: string; vm: string }
  | { subscriptionId: string; resourceGroup: string; scaleSet: string; instanceId: string };

export function isScaleSetInstance(t: AzureTarget): t is Extract<AzureTarget, { scaleSet: string }> {
  return 'scaleSet' in t;
}

/** `/subscriptions/S/resourceGroups/G/providers/Microsoft.Compute/virtualMachines/V` (or the scale-set VM's). */
export function resourcePath(t: AzureTarget): string {
  const e = encodeURIComponent;
  const group = `/subscriptions/${e(t.subscriptionId)}/resourceGroups/${e(t.resourceGroup)}/providers/Microsoft.Compute`;
  return isScaleSetInstance(t) ? `${group}/virtualMachineScaleSets/${e(t.scaleSet)}/virtualMachines/${e(t.instanceId)}` : `${group}/virtualMachines/${e(t.vm)}`;
}

/** `VM web-1 (resource group rg, subscription S)` for messages. */
export function describeTarget(t: AzureTarget): string {
  const where = `resource group ${t.resourceGroup}, subscription ${t.subscriptionId}`;
  return isScaleSetInstance(t) ? `scale-set VM ${t.scaleSet}/${t.instanceId} (${where})` : `VM ${t.vm} (${where})`;
}
