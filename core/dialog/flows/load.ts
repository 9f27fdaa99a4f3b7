import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { unknownKeyIssues } from '../../config/unknown-keys';
import { issueLines } from '../../resilience/zod-issues';
import { HubError } from '../../types/errors';
import { type ActionSpec, BUILT_IN_ACTIONS } from './actions';
import { type Catalog, FLOW_MESSAGES } from './messages';
import { CANCEL, END, type FlowDefinition, flowSchema, type StepDefinition } from './schema';

/** Flows ready to run: by name, by triggering intent, with the actions they may name and every message. */
export interface FlowSet {
  flows: Map<string, FlowDefinition>;
  byIntent: Map<string, FlowDefinition>;
  actions: Map<string, ActionSpec>;
  catalog: Catalog;
}

/** Steps that can lead to `target`, by any transition (next, sequence, yes/no, cases, onError). */
function predecessors(flow: FlowDefinition, target: string): StepDefinition[] {
  return flow.steps.filter((step, i) => {
    const sequential = flow.steps[i + 1]?.id;
    switch (step.type) {
      case 'end':
        return false;
      case 'confirm':
        return step.yes === target || step.no === target || (step.next ?? sequential) === target;
      case 'branch':
        return step.default === target || Object.values(step.cases).includes(target);
      case 'action':
        return (step.next ?? sequential) === target || step.onError === target;
      default:
        return (step.next ?? sequential) === target;
    }
  });
}

/** Problems a schema cannot see: unknown actions, irreversible actions without a confirm step right before. */
export function checkFlow(flow: FlowDefinition, actions: Map<string, ActionSpec>): string[] {
  const problems: string[] = [];
  flow.steps.forEach((step, i) => {
    if (step.type !== 'action') return;
    const spec = actions.get(step.action);
    if (!spec) {
      problems.push(
        `steps.${i}.action: unknown action "${step.action}" (known: ${[...actions.keys()].join(', ')})`,
      );
      return;
    }
    if (!spec.irreversible) return;
    const before = predecessors(flow, step.id);
    const unconfirmed =
      i === 0
        ? ['(flow start)']
        : before.filter((p) => p.type !== 'confirm' || p.yes !== step.id).map((p) => p.id);
    if (before.length === 0 || unconfirmed.length) {
      problems.push(
        `steps.${i}: "${step.action}" cannot be undone, so it must be reached only from a confirm step's "yes" (reached from: ${unconfirmed.join(', ') || 'nowhere'})`,
      );
    }
  });
  return problems;
}

function messagesOf(flow: FlowDefinition): Catalog {
  const catalog: Catalog = new Map();
  for (const slot of flow.slots) {
    catalog.set(`flows.${flow.name}.slots.${slot.name}.prompt`, slot.prompt);
    if (slot.invalid) catalog.set(`flows.${flow.name}.slots.${slot.name}.invalid`, slot.invalid);
  }
  for (const step of flow.steps) {
    if ('message' in step && step.message) catalog.set(`flows.${flow.name}.${step.id}`, step.message);
  }
  return catalog;
}

/** Validate parsed flow documents (`source` names each in errors) into a FlowSet. */
export function buildFlowSet(
  documents: { source: string; data: unknown }[],
  actionSpecs: ActionSpec[] = BUILT_IN_ACTIONS,
): FlowSet {
  const actions = new Map(actionSpecs.map((spec) => [spec.name, spec]));
  const set: FlowSet = {
    flows: new Map(),
    byIntent: new Map(),
    actions,
    catalog: new Map(Object.entries(FLOW_MESSAGES)),
  };
  const problems: string[] = [];
  for (const { source, data } of documents) {
    const unknown = unknownKeyIssues(flowSchema, data);
    const parsed = flowSchema.safeParse(data);
    if (!parsed.success || unknown.length > 0) {
      for (const issue of issueLines([...(parsed.success ? [] : parsed.error.issues), ...unknown]))
        problems.push(`${source}: ${issue.path}: ${issue.message}`);
      continue;
    }
    const flow = parsed.data;
    for (const problem of checkFlow(flow, actions)) problems.push(`${source}: ${problem}`);
    if (set.flows.has(flow.name)) problems.push(`${source}: flow "${flow.name}" is defined twice`);
    for (const intent of flow.trigger.intents) {
      const other = set.byIntent.get(intent);
      if (other) problems.push(`${source}: intent "${intent}" already starts flow "${other.name}"`);
      else set.byIntent.set(intent, flow);
    }
    set.flows.set(flow.name, flow);
    for (const [key, message] of messagesOf(flow)) set.catalog.set(key, message);
  }
  if (problems.length) {
    throw new HubError(
      'flows.invalid',
      `Invalid flow definitions:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix the keys above; config/flows/order-status.yaml is a complete example.`,
    );
  }
  return set;
}

/** Load every `*.yaml` / `*.yml` in `dir` as one flow each. */
export async function loadFlows(dir: string, actionSpecs?: ActionSpec[]): Promise<FlowSet> {
  const names = await readdir(dir).catch((cause: unknown) => {
    throw new HubError(
      'flows.unreadable',
      `Cannot read flows folder ${dir}. Fix: set flowsDir in the dialog file (e.g. config/flows).`,
      { cause },
    );
  });
  const files = names.filter((f) => /\.ya?ml$/.test(f)).sort();
  const documents = await Promise.all(
    files.map(async (file) => {
      const source = join(dir, file);
      try {
        return { source, data: parseYaml(await readFile(source, 'utf8')) as unknown };
      } catch (cause) {
        throw new HubError('flows.yaml', `${source} is not valid YAML: ${(cause as Error).message}`, {
          cause,
        });
      }
    }),
  );
  return buildFlowSet(documents, actionSpecs);
}

export { CANCEL, END };
