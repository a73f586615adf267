import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * OHIF's `window.config`, from the node's settings: this node's DICOMweb as the only data source (on
 * the page's own origin), sign-in with the node's issuer, nothing loaded from elsewhere; and the
 * viewport overlay lines that show what the index says of the study and its dose
 * (public/study-summary-overlay.js, written into the file as it is).
 */
// src/viewer/public, from src/viewer or from dist/viewer alike: the browser file is not compiled.
const OVERLAY_SCRIPT = path.resolve(__dirname, '..', '..', 'src', 'viewer', 'public', 'study-summary-overlay.js');

export interface ViewerSettings {
  /** Where the viewer is served, e.g. `/viewer`. */
  basePath: string;
  /** The DICOMweb base's path on the same origin, e.g. `/dicomweb`. */
  dicomwebPath: string;
  issuer: string;
  clientId: string;
  scope: string;
  /** The viewer's own API on the same origin, e.g. `/viewer-api` (the study summaries). */
  apiPath: string;
}

export function viewerAppConfig(settings: ViewerSettings, overlayScript: string = readFileSync(OVERLAY_SCRIPT, 'utf8')): string {
  const dicomweb = `window.location.origin + ${JSON.stringify(settings.dicomwebPath)}`;
  // Searches under the study the link opened (qido/routes.ts, VIEWER_CONTEXT): the patient's other
  // studies are then those of the same patient identifier system, not every PatientID alike. The
  // sign-in leaves the page and comes back to /callback, where the configuration is read again: the
  // study is kept for it in the tab's session storage.
  const qido = `${dicomweb} + (function () {
    var KEY = 'facade-opened-study';
    var named = (new URLSearchParams(window.location.search).get('StudyInstanceUIDs') || '').split(',')[0];
    if (named) window.sessionStorage.setItem(KEY, named);
    var opened = named || (/\\/callback$/.test(window.location.pathname) ? window.sessionStorage.getItem(KEY) || '' : '');
    return /^[0-9.]{1,64}$/.test(opened) ? '/viewer-context/' + opened : '';
  })()`;
  return `/* Written by the Imaging Facade dicomweb service from its settings. */
${overlayScript}
window.config = {
  name: 'imaging-facade',
  routerBasename: ${JSON.stringify(settings.basePath)},
  extensions: [],
  modes: [],
  customizationService: [
    { 'viewportOverlay.topRight': { $push: facadeStudySummaryOverlay(${JSON.stringify(settings.apiPath)}) } },
  ],
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'facade',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'facade',
      configuration: {
        friendlyName: 'Imaging Facade node',
        name: 'facade',
        wadoUriRoot: ${dicomweb},
        qidoRoot: ${qido},
        wadoRoot: ${dicomweb},
        qidoSupportsIncludeField: true,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        staticWado: false,
        singlepart: false,
        bulkDataURI: { enabled: true },
        omitQuotationForMultipartRequest: true,
      },
    },
  ],
  oidc: [
    {
      authority: ${JSON.stringify(settings.issuer)},
      client_id: ${JSON.stringify(settings.clientId)},
      redirect_uri: '/callback',
      response_type: 'code',
      scope: ${JSON.stringify(settings.scope)},
      post_logout_redirect_uri: '/',
      automaticSilentRenew: false,
      revokeAccessTokenOnSignout: false,
    },
  ],
};
`;
}
