/**
 * The node's Retrieve Location UID (XDS-I.b repositoryUniqueId) when none is configured: a 2.25
 * UID (PS3.5 B.2) of the UUID a9c7e4d2-5b0f-4f3e-9a61-2d8c0b7e1f35. The ingest writes it into its
 * manifests and the mapper identifies the node's Endpoint by it, so both default to the same value.
 */
export const DEFAULT_NODE_UID = '2.25.225677439417984617797999639172048887605';
