import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local SAP S/4HANA answering OData v2 JSON ($format=json, the "d" envelope) for
 * API_SALES_ORDER_SRV (A_SalesOrder by key with $expand=to_Item, or $filter on PurchaseOrderByCustomer
 * / SoldToParty with $orderby and $top) and API_BUSINESS_PARTNER (A_BusinessPartner by key with the
 * address e-mail/phone/mobile expands, A_AddressEmailAddress and A_BusinessPartnerAddress by $filter),
 * and the sales-order service's `$metadata` (EDMX XML whatever the Accept header, as OData v2 has it).
 * Basic auth; 401 with a Basic challenge and an HTML page as SAP's ICM sends; 404 with the OData error
 * object for an unknown key; injected 429 with Retry-After, 5xx, or no answer.
 */
const ODATA_ROOT = '/sap/opu/odata/sap';
/** A trimmed EDMX of API_SALES_ORDER_SRV: the two entity sets the hub reads. */
const SALES_ORDER_METADATA = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
 <edmx:DataServices m:DataServiceVersion="2.0">
  <Schema Namespace="API_SALES_ORDER_SRV" xml:lang="en" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">
   <EntityType Name="A_SalesOrderType"><Key><PropertyRef Name="SalesOrder"/></Key><Property Name="SalesOrder" Type="Edm.String" Nullable="false" MaxLength="10"/></EntityType>
   <EntityType Name="A_SalesOrderItemType"><Key><PropertyRef Name="SalesOrder"/><PropertyRef Name="SalesOrderItem"/></Key><Property Name="SalesOrder" Type="Edm.String" Nullable="false" MaxLength="10"/><Property Name="SalesOrderItem" Type="Edm.String" Nullable="false" MaxLength="6"/></EntityType>
   <EntityContainer Name="API_SALES_ORDER_SRV_Entities" m:IsDefaultEntityContainer="true">
    <EntitySet Name="A_SalesOrder" EntityType="API_SALES_ORDER_SRV.A_SalesOrderType"/>
    <EntitySet Name="A_SalesOrderItem" EntityType="API_SALES_ORDER_SRV.A_SalesOrderItemType"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>`;
const date = (iso: string) => `/Date(${Date.parse(iso)})/`;

interface Partner {
  name: string;
  addressId: string;
  emails: string[];
  phones: Array<{ PhoneNumber: string; InternationalPhoneNumber: string }>;
  mobiles: Array<{ PhoneNumber: string; InternationalPhoneNumber: string }>;
}

export const SAP_PARTNERS: Record<string, Partner> = {
  '1000017': {
    name: 'Alex Demo',
    addressId: '22001',
    emails: ['Alex@Example.com'],
    phones: [{ PhoneNumber: '555 0100', InternationalPhoneNumber: '+15550100' }],
    mobiles: [],
  },
  '1000018': {
    name: 'Sam Sample',
    addressId: '22002',
    emails: ['other@example.org', 'sam@example.org'],
    phones: [{ PhoneNumber: '020 7946 0001', InternationalPhoneNumber: '+442079460001' }],
    mobiles: [{ PhoneNumber: '07946 000000', InternationalPhoneNumber: '+447946000000' }],
  },
};

const order = (
  SalesOrder: string,
  SoldToParty: string,
  created: string,
  status: [process: string, delivery: string, rejection: string],
  extra: Record<string, unknown> = {},
) => ({
  SalesOrder,
  SalesOrderType: 'OR',
  SalesOrganization: '1710',
  SoldToParty,
  CreationDate: date(created),
  TotalNetAmount: '89.00',
  TransactionCurrency: 'EUR',
  PurchaseOrderByCustomer: '',
  OverallSDProcessStatus: status[0],
  OverallDeliveryStatus: status[1],
  OverallSDDocumentRejectionSts: status[2],
  items: [
    {
      SalesOrderItem: '10',
      Material: 'KB-01',
      SalesOrderItemText: 'Mechanical keyboard',
      RequestedQuantity: '2.000',
      RequestedQuantityUnit: 'PC',
    },
  ],
  ...extra,
});

export const SAP_ORDERS = [
  order('12345', '1000017', '2026-10-28T00:00:00Z', ['B', 'C', 'A'], {
    PurchaseOrderByCustomer: 'XX12345678',
  }),
  order('12346', '1000017', '2026-11-02T00:00:00Z', ['A', 'A', 'A']),
  order('12347', '1000018', '2026-08-01T00:00:00Z', ['C', 'C', 'A'], {
    TotalNetAmount: '15.50',
    TransactionCurrency: 'GBP',
  }),
  order('12348', '1000018', '2026-09-01T00:00:00Z', ['C', 'A', 'C']),
  order('12349', '9999999', '2026-09-02T00:00:00Z', ['A', 'A', 'A']),
];

export interface SapEmulatorOptions {
  username: string;
  password: string;
  /** When set, requests without this sap-client are refused. */
  client?: string;
}

type Failure = { status?: number; retryAfter?: number; hang?: boolean; times: number };

export interface SapEmulator {
  url: string;
  requests: Array<{ path: string; query: URLSearchParams }>;
  fail(failure: Omit<Failure, 'times'> & { times?: number }): void;
  close(): Promise<void>;
}

export async function startSapEmulator(options: SapEmulatorOptions): Promise<SapEmulator> {
  const failures: Failure[] = [];
  const requests: SapEmulator['requests'] = [];
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res
      .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
      .end(JSON.stringify(body));
  const odataError = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, {
      error: { code, message: { lang: 'en', value: message }, innererror: { transactionid: 'ABC123' } },
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for await (const _ of req);
    const url = new URL(req.url ?? '/', 'http://sap');
    const path = decodeURIComponent(url.pathname);
    requests.push({ path, query: url.searchParams });
    const failure = failures[0];
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) failures.shift();
      if (failure.hang) return;
      const headers: Record<string, string> =
        failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {};
      return send(res, failure.status ?? 503, { error: 'injected' }, headers);
    }
    const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res
        .writeHead(401, {
          'content-type': 'text/html',
          'www-authenticate': 'Basic realm="SAP NetWeaver Application Server [S4H/100]"',
        })
        .end('<html><head><title>Logon failed</title></head><body>Logon failed</body></html>');
      return;
    }
    if (options.client && url.searchParams.get('sap-client') !== options.client)
      return odataError(res, 401, '/IWFND/CM_BEC/026', 'No client specified');
    if (path === `${ODATA_ROOT}/API_SALES_ORDER_SRV/$metadata`)
      return res.writeHead(200, { 'content-type': 'application/xml' }).end(SALES_ORDER_METADATA);
    if (url.searchParams.get('$format') !== 'json' && !(req.headers.accept ?? '').includes('json'))
      return res.writeHead(200, { 'content-type': 'application/atom+xml' }).end('<feed/>');
    const expand = (url.searchParams.get('$expand') ?? '').split(',').filter(Boolean);
    const filter = parseFilter(url.searchParams.get('$filter'));

    const salesOrderKey = /^.+\/API_SALES_ORDER_SRV\/A_SalesOrder\('(.*)'\)$/.exec(path);
    if (path.startsWith(`${ODATA_ROOT}/API_SALES_ORDER_SRV/A_SalesOrder`)) {
      if (salesOrderKey) {
        const found = SAP_ORDERS.find((o) => o.SalesOrder === unquote(salesOrderKey[1] ?? ''));
        if (!found)
          return odataError(res, 404, 'SY/530', "Resource not found for segment 'A_SalesOrderType'");
        return send(res, 200, { d: salesOrderJson(found, expand) });
      }
      if (!path.endsWith('A_SalesOrder')) return odataError(res, 404, '/IWFND/MED/170', 'No service found');
      let found = SAP_ORDERS.filter((o) => filter(o as unknown as Record<string, unknown>));
      if (url.searchParams.get('$orderby') === 'CreationDate desc')
        found = [...found].sort((a, b) => b.CreationDate.localeCompare(a.CreationDate));
      const top = Number(url.searchParams.get('$top') ?? found.length);
      return send(res, 200, { d: { results: found.slice(0, top).map((o) => salesOrderJson(o, expand)) } });
    }
    const partnerKey = /^.+\/API_BUSINESS_PARTNER\/A_BusinessPartner\('(.*)'\)$/.exec(path);
    if (partnerKey) {
      const id = unquote(partnerKey[1] ?? '');
      const partner = SAP_PARTNERS[id];
      if (!partner)
        return odataError(res, 404, 'SY/530', "Resource not found for segment 'A_BusinessPartnerType'");
      return send(res, 200, { d: partnerJson(id, partner, expand) });
    }
    if (path === `${ODATA_ROOT}/API_BUSINESS_PARTNER/A_AddressEmailAddress`) {
      const rows = Object.values(SAP_PARTNERS).flatMap((p) =>
        p.emails.map((EmailAddress, i) => ({
          AddressID: p.addressId,
          Person: '',
          OrdinalNumber: String(i + 1),
          EmailAddress,
        })),
      );
      return send(res, 200, { d: { results: rows.filter((r) => filter(r)) } });
    }
    if (path === `${ODATA_ROOT}/API_BUSINESS_PARTNER/A_BusinessPartnerAddress`) {
      const rows = Object.entries(SAP_PARTNERS).map(([BusinessPartner, p]) => ({
        BusinessPartner,
        AddressID: p.addressId,
      }));
      return send(res, 200, { d: { results: rows.filter((r) => filter(r)) } });
    }
    return odataError(res, 404, '/IWFND/MED/170', `No service found for namespace '', name '${path}'`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => send(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    fail: (failure) => failures.push({ times: 1, ...failure }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function salesOrderJson(o: (typeof SAP_ORDERS)[number], expand: string[]) {
  const { items, ...header } = o;
  const uri = `${ODATA_ROOT}/API_SALES_ORDER_SRV/A_SalesOrder('${o.SalesOrder}')`;
  return {
    __metadata: { id: uri, uri, type: 'API_SALES_ORDER_SRV.A_SalesOrderType' },
    ...header,
    to_Item: expand.includes('to_Item')
      ? { results: items.map((i) => ({ SalesOrder: o.SalesOrder, ...i })) }
      : { __deferred: { uri: `${uri}/to_Item` } },
  };
}

function partnerJson(id: string, p: Partner, expand: string[]) {
  const deferred = (name: string) => ({ __deferred: { uri: `.../${name}` } });
  const want = (name: string) => expand.includes(`to_BusinessPartnerAddress/${name}`);
  return {
    BusinessPartner: id,
    BusinessPartnerFullName: p.name,
    to_BusinessPartnerAddress: expand.some((e) => e.startsWith('to_BusinessPartnerAddress'))
      ? {
          results: [
            {
              BusinessPartner: id,
              AddressID: p.addressId,
              to_EmailAddress: want('to_EmailAddress')
                ? {
                    results: p.emails.map((EmailAddress, i) => ({
                      AddressID: p.addressId,
                      EmailAddress,
                      IsDefaultEmailAddress: i === p.emails.length - 1,
                    })),
                  }
                : deferred('to_EmailAddress'),
              to_PhoneNumber: want('to_PhoneNumber') ? { results: p.phones } : deferred('to_PhoneNumber'),
              to_MobilePhoneNumber: want('to_MobilePhoneNumber')
                ? { results: p.mobiles }
                : deferred('to_MobilePhoneNumber'),
            },
          ],
        }
      : deferred('to_BusinessPartnerAddress'),
  };
}

/** `Field eq 'value'` terms joined by `or` (all this adapter sends). */
function parseFilter(filter: string | null): (row: Record<string, unknown>) => boolean {
  if (!filter) return () => true;
  const terms = filter.split(' or ').map((term) => {
    const match = /^(\w+) eq '((?:[^']|'')*)'$/.exec(term.trim());
    if (!match) throw new Error(`filter not emulated: ${term}`);
    return [match[1] as string, unquote(match[2] ?? '')] as const;
  });
  return (row) => terms.some(([field, value]) => row[field] === value);
}

function unquote(value: string): string {
  return value.replace(/''/g, "'");
}
