import {
  basicHeader,
  type EmulatorReply,
  type HelpdeskEmulator,
  startHelpdeskServer,
} from './helpdesk-faults';

/**
 * A local Jira Service Management Cloud (the subset the hub uses): create a customer request
 * (/rest/servicedeskapi/request), view it, comment on it (public or internal), list and perform
 * its transitions, and the platform's JQL search by label (/rest/api/3/search/jql; the removed
 * /rest/api/3/search answers 410 as on Jira Cloud), and the caller's account (/rest/api/3/myself).
 * Basic auth `email:apiToken`. The workflow is
 * the default "Service request" one: Waiting for support → In progress / Waiting for customer →
 * Resolved → Closed. Errors: 400 with errorMessage, 401, 404, 409, 429 with Retry-After, 5xx.
 */
export interface JiraEmulatorOptions {
  email: string;
  apiToken: string;
  serviceDeskId: string;
  /** Request types and the fields each shows (a field not shown is refused, as on Jira). */
  requestTypes?: Record<string, string[]>;
}

interface Status {
  name: string;
  category: 'NEW' | 'INDETERMINATE' | 'DONE';
}

export interface JiraRequestRecord {
  issueId: string;
  issueKey: string;
  requestTypeId: string;
  fields: Record<string, unknown>;
  status: Status;
  comments: Array<{ id: string; body: string; public: boolean; created: string }>;
  created: string;
}

export interface JiraEmulator extends HelpdeskEmulator {
  requestsCreated: JiraRequestRecord[];
}

const STATUS: Record<string, Status> = {
  support: { name: 'Waiting for support', category: 'NEW' },
  progress: { name: 'In progress', category: 'INDETERMINATE' },
  customer: { name: 'Waiting for customer', category: 'INDETERMINATE' },
  resolved: { name: 'Resolved', category: 'DONE' },
  closed: { name: 'Closed', category: 'DONE' },
  canceled: { name: 'Canceled', category: 'DONE' },
};

/** From status name → transitions available: [id, name, target]. */
const WORKFLOW: Record<string, Array<[string, string, Status]>> = {
  'Waiting for support': [
    ['11', 'In progress', STATUS.progress as Status],
    ['21', 'Respond to customer', STATUS.customer as Status],
    ['31', 'Resolve this issue', STATUS.resolved as Status],
    ['41', 'Cancel request', STATUS.canceled as Status],
  ],
  'In progress': [
    ['21', 'Respond to customer', STATUS.customer as Status],
    ['31', 'Resolve this issue', STATUS.resolved as Status],
  ],
  'Waiting for customer': [
    ['51', 'Respond to support', STATUS.support as Status],
    ['31', 'Resolve this issue', STATUS.resolved as Status],
  ],
  Resolved: [
    ['61', 'Reopen', STATUS.support as Status],
    ['71', 'Close', STATUS.closed as Status],
  ],
  Closed: [],
  Canceled: [],
};

const error = (message: string) => ({
  errorMessage: message,
  i18nErrorMessage: { i18nKey: 'sd.emulator.error', parameters: [] },
});
const ERRORS: Record<number, unknown> = {
  400: error('The request is invalid'),
  401: { errorMessages: ['Client must be authenticated to access this resource.'], errors: {} },
  403: error('You do not have permission to perform this action'),
  409: error('The request was updated by someone else'),
  422: error('The request is invalid'),
  429: { errorMessages: ['Rate limit exceeded.'], errors: {} },
};

export async function startJiraEmulator(options: JiraEmulatorOptions): Promise<JiraEmulator> {
  const created: JiraRequestRecord[] = [];
  const requestTypes = options.requestTypes ?? {
    '10': ['summary', 'description', 'labels', 'priority'],
  };
  const expected = basicHeader(options.email, options.apiToken);
  let nextId = 10_000;
  let nextComment = 1;
  const project = 'SUP';
  const date = (iso: string) => ({ iso8601: iso, epochMillis: Date.parse(iso) });

  const show = (r: JiraRequestRecord, base: string) => ({
    issueId: r.issueId,
    issueKey: r.issueKey,
    requestTypeId: r.requestTypeId,
    serviceDeskId: options.serviceDeskId,
    createdDate: date(r.created),
    requestFieldValues: Object.entries(r.fields).map(([fieldId, value]) => ({
      fieldId,
      label: fieldId,
      value,
    })),
    currentStatus: { status: r.status.name, statusCategory: r.status.category, statusDate: date(r.created) },
    _links: {
      web: `${base}/servicedesk/customer/portal/1/${r.issueKey}`,
      self: `${base}/rest/servicedeskapi/request/${r.issueId}`,
    },
  });
  const paged = <T>(values: T[], start: number, limit: number) => {
    const page = values.slice(start, start + limit);
    return { size: page.length, start, limit, isLastPage: start + limit >= values.length, values: page };
  };
  const bad = (message: string): EmulatorReply => ({ status: 400, body: error(message) });

  let base = '';
  const server = await startHelpdeskServer({
    authorize: (req) =>
      req.headers.authorization === expected ? undefined : { status: 401, body: ERRORS[401] },
    errorBody: (status) => ERRORS[status] ?? { errorMessages: ['Internal server error'], errors: {} },
    handle(req) {
      const path = req.url.pathname;
      const params = req.url.searchParams;
      if (path === '/rest/api/3/myself' && req.method === 'GET') {
        return {
          status: 200,
          body: {
            accountId: '5b10ac8d82e05b22cc7d4ef5',
            accountType: 'atlassian',
            emailAddress: options.email,
            displayName: 'Hub Integration',
            active: true,
            timeZone: 'UTC',
          },
        };
      }
      if (path === '/rest/api/3/search' || path === '/rest/api/2/search') {
        return {
          status: 410,
          body: {
            errorMessages: [
              'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.',
            ],
          },
        };
      }
      if (path === '/rest/api/3/search/jql' && req.method === 'GET') {
        const match = /^labels\s*=\s*"?([^"\s]+)"?$/.exec(params.get('jql') ?? '');
        if (!match) return { status: 400, body: { errorMessages: ['Error in the JQL Query'], errors: {} } };
        const found = created.filter((r) =>
          (r.fields.labels as string[] | undefined)?.includes(match[1] as string),
        );
        const max = Number(params.get('maxResults') ?? 50);
        return {
          status: 200,
          body: {
            issues: found
              .slice(0, max)
              .map((r) => ({ id: r.issueId, key: r.issueKey, fields: { summary: r.fields.summary } })),
            isLast: found.length <= max,
          },
        };
      }
      if (path === '/rest/servicedeskapi/request' && req.method === 'POST') {
        const input = req.json;
        if (String(input.serviceDeskId) !== options.serviceDeskId)
          return { status: 404, body: error('Service desk does not exist') };
        const shown = requestTypes[String(input.requestTypeId)];
        if (!shown) return bad(`The request type ${input.requestTypeId} does not exist in this service desk`);
        const values: Record<string, unknown> = input.requestFieldValues ?? {};
        for (const field of Object.keys(values)) {
          if (!shown.includes(field)) return bad(`Field '${field}' is not valid for this request type.`);
        }
        if (!values.summary) return bad('Summary: You must specify a summary of the issue.');
        if (typeof values.summary === 'string' && values.summary.length > 255)
          return bad('Summary must be less than 255 characters.');
        const id = nextId++;
        const record: JiraRequestRecord = {
          issueId: String(id),
          issueKey: `${project}-${id - 9_999}`,
          requestTypeId: String(input.requestTypeId),
          fields: values,
          status: STATUS.support as Status,
          comments: [],
          created: new Date().toISOString(),
        };
        created.push(record);
        return { status: 201, body: show(record, base) };
      }
      const match = /^\/rest\/servicedeskapi\/request\/([^/]+)(?:\/(comment|transition))?$/.exec(path);
      const id = decodeURIComponent(match?.[1] ?? '');
      const record = created.find((r) => r.issueKey === id || r.issueId === id);
      if (!match || !record) {
        return { status: 404, body: error('Issue does not exist or you do not have permission to see it.') };
      }
      const sub = match[2];
      if (!sub && req.method === 'GET') return { status: 200, body: show(record, base) };
      if (sub === 'comment' && req.method === 'POST') {
        if (!req.json.body) return bad('Comment body can not be empty!');
        const comment = {
          id: String(nextComment++),
          body: String(req.json.body),
          public: req.json.public !== false,
          created: new Date().toISOString(),
        };
        record.comments.push(comment);
        return { status: 201, body: { ...comment, created: date(comment.created) } };
      }
      if (sub === 'comment' && req.method === 'GET') {
        const start = Number(params.get('start') ?? 0);
        const limit = Number(params.get('limit') ?? 50);
        return {
          status: 200,
          body: paged(
            record.comments.map((c) => ({ ...c, created: date(c.created) })),
            start,
            limit,
          ),
        };
      }
      const available = WORKFLOW[record.status.name] ?? [];
      if (sub === 'transition' && req.method === 'GET') {
        return {
          status: 200,
          body: paged(
            available.map(([tid, name]) => ({ id: tid, name })),
            0,
            100,
          ),
        };
      }
      if (sub === 'transition' && req.method === 'POST') {
        const transition = available.find(([tid]) => tid === String(req.json.id));
        if (!transition) return bad(`Transition ${req.json.id} is not valid for this request.`);
        record.status = transition[2];
        return { status: 204 };
      }
      return { status: 405, body: error('Method not allowed') };
    },
  });
  base = server.url;

  return {
    url: server.url,
    requests: server.requests,
    requestsCreated: created,
    fail: server.fail,
    ticketCount: () => created.length,
    reset() {
      created.length = 0;
      server.clear();
    },
    close: server.close,
  };
}
