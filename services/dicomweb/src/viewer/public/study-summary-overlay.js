/*
 * Imaging Facade: what the node's index says of the study shown in a viewport (description, date,
 * site) and its dose (the study's dose summary, the patient's cumulative dose), as lines of OHIF's
 * viewport overlay (customization `viewportOverlay.topRight`, items with a `contentF`).
 *
 * The summary comes from GET <apiPath>/studies/<uid>/summary on this origin, with the viewer's own
 * access token, once per study. OHIF calls `contentF` synchronously while it renders and does not
 * render again when a fetch ends, so each line is an empty <div> that OHIF's React places and whose
 * text this code writes when the summary arrives (through the element's `ref`; React manages no
 * child of it). The element is a plain React 18 element object (OHIF 3.13.2 ships React 18.3.1),
 * since app-config.js has no access to OHIF's React module.
 */
function facadeStudySummaryOverlay(apiPath) {
  var REACT_ELEMENT = Symbol.for('react.element');
  var LINES = [
    { id: 'FacadeIndexStudy', line: 'study', title: 'What the index says of the study' },
    { id: 'FacadeStudyDose', line: 'dose', title: "The study's dose summary (its dose report)" },
    { id: 'FacadePatientCumulativeDose', line: 'cumulative', title: "The patient's cumulative dose, over their studies" },
  ];
  var studies = new Map();

  function authorization(servicesManager) {
    var auth = servicesManager && servicesManager.services && servicesManager.services.userAuthenticationService;
    var header = auth && typeof auth.getAuthorizationHeader === 'function' ? auth.getAuthorizationHeader() : undefined;
    return header && header.Authorization;
  }

  function write(node, study, line) {
    var text = study.summary ? study.summary.display[line] || '' : study.failed && line === 'study' ? 'Index: not available' : '';
    node.textContent = text;
    node.style.display = text ? '' : 'none';
  }

  function studyOf(uid, servicesManager) {
    var study = studies.get(uid);
    if (study) return study;
    study = { summary: undefined, failed: false, nodes: new Set(), refs: {} };
    studies.set(uid, study);
    var headers = { Accept: 'application/json' };
    var token = authorization(servicesManager);
    if (token) headers.Authorization = token;
    fetch(apiPath + '/studies/' + encodeURIComponent(uid) + '/summary', { headers: headers, credentials: 'omit' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(
        function (summary) {
          study.summary = summary;
        },
        function () {
          // Said once in the overlay; asked again when the page is opened again.
          study.failed = true;
        },
      )
      .then(function () {
        study.nodes.forEach(function (entry) {
          write(entry.node, study, entry.line);
        });
      });
    return study;
  }

  function refFor(study, line) {
    if (!study.refs[line]) {
      var entry = { node: null, line: line };
      study.refs[line] = function (node) {
        if (entry.node) study.nodes.delete(entry);
        entry.node = node;
        if (node) {
          study.nodes.add(entry);
          write(node, study, line);
        }
      };
    }
    return study.refs[line];
  }

  return LINES.map(function (item) {
    return {
      id: item.id,
      title: item.title,
      condition: function (props) {
        return !!(props.instance && props.instance.StudyInstanceUID);
      },
      contentF: function (props) {
        var uid = props.instance.StudyInstanceUID;
        var study = studyOf(uid, props.servicesManager);
        return {
          $$typeof: REACT_ELEMENT,
          type: 'div',
          key: uid + '-' + item.line,
          ref: refFor(study, item.line),
          props: { className: 'overlay-item flex flex-row facade-summary-' + item.line, title: item.title, 'data-study': uid },
          _owner: null,
          _store: {},
        };
      },
    };
  });
}
