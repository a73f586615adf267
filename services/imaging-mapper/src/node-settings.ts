import { nodeSettingsSchema, type NodeSettings as Node } from '@imaging-facade/node-settings';

/**
 * What the mapper knows of the node whose studies it publishes, beyond the studies themselves:
 * where they are retrieved (its DICOMweb Endpoint), who publishes their manifests, and which
 * national extensions apply. Declared node-wide in @imaging-facade/node-settings.
 */
export type NodeSettings = Pick<Node, 'dicomWebBaseUrl' | 'nodeUid' | 'nodeName' | 'organization' | 'nationalProfile'>;

/** The settings of a node configured with every default. */
export const DEFAULT_NODE_SETTINGS: NodeSettings = nodeSettingsSchema.parse({});
