#!/usr/bin/env bash
# Serve Qwen3-14B with vLLM's OpenAI-compatible server for the hub (llm.baseUrl: http://<host>:8000/v1).
# UNVERIFIED ON HARDWARE: no GPU was available when this was written; flags are taken from the vLLM
# documentation (docs.vllm.ai: FP8 quantization, LoRA adapters, qwen3 reasoning parser) and the Qwen
# deployment guide (qwen.readthedocs.io, vLLM page). Check `vllm serve --help` on the version you install.
#
# Environment (all optional):
#   MODEL            Qwen/Qwen3-14B (a local path works too)
#   MAX_MODEL_LEN    8192 (set 32768 for long inputs; see README "KV cache")
#   MAX_NUM_SEQS     64
#   GPU_MEM_UTIL     0.90
#   LORA_MODULES     space-separated name=path pairs, e.g. "acme=/adapters/acme globex=/adapters/globex"
#   PORT             8000
#   VLLM_API_KEY     when set, vLLM requires "Authorization: Bearer <key>" (the hub sends llm.apiKey)
#   HEALTH_ONLY=1    do not start; just probe http://127.0.0.1:$PORT/health and exit 0/1
set -euo pipefail

MODEL="${MODEL:-Qwen/Qwen3-14B}"
MAX_MODEL_LEN="${MAX_MODEL_LEN:-8192}"
MAX_NUM_SEQS="${MAX_NUM_SEQS:-64}"
GPU_MEM_UTIL="${GPU_MEM_UTIL:-0.90}"
PORT="${PORT:-8000}"

if [[ "${HEALTH_ONLY:-0}" == "1" ]]; then
  # /health answers 200 once the engine is up; the k8s probes use the same endpoint.
  exec curl -fsS --max-time 5 "http://127.0.0.1:${PORT}/health"
fi

args=(
  serve "$MODEL"
  --host 0.0.0.0
  --port "$PORT"
  # The name the hub puts in `model`; keeps config/hub.yaml (llm.model: Qwen/Qwen3-14B) valid when MODEL is a local path.
  --served-model-name Qwen/Qwen3-14B

  # FP8 (E4M3) weights, quantised online from the BF16 checkpoint: about half the weight bytes
  # (~15 GB instead of ~30 GB), so each decode step reads half as much and the freed memory goes to
  # KV cache. vLLM documents W8A8 FP8 on Hopper/Ada and "up to 1.6x" throughput with minimal accuracy
  # impact; the trade-off is a small quality loss to measure on our own questions (rag eval) before
  # production. Drop this line to serve BF16.
  --quantization fp8

  # Every hub prompt starts with the same system prompt and often the same retrieved passages:
  # with prefix caching those KV blocks are computed once and reused, which cuts time to first token.
  --enable-prefix-caching

  # The hub's prompts are budgeted to ~8K tokens (system + passages + history + question).
  # 8192 keeps the per-sequence KV reservation small (1.25 GiB in BF16 KV); use 32768 (Qwen3's native
  # context) only when long documents are sent, and expect about 4x fewer concurrent sequences.
  --max-model-len "$MAX_MODEL_LEN"

  # Upper bound on sequences batched per step. Higher raises throughput until KV cache or the
  # time-per-token target runs out; 64 fits the KV budget of an 80 GB H100 at 4K-token conversations
  # (README, "Capacity"). Requests beyond it wait in vLLM's queue (vllm:num_requests_waiting), which
  # is what the autoscaler watches.
  --max-num-seqs "$MAX_NUM_SEQS"

  # Fraction of GPU memory vLLM may take (weights + activations + KV cache); the rest is headroom.
  --gpu-memory-utilization "$GPU_MEM_UTIL"

  # Tool calls (order lookup, ticket creation): let the model decide when to call a tool, and parse
  # Qwen3's <tool_call>{json}</tool_call> output (Hermes format) into OpenAI tool_calls.
  --enable-auto-tool-choice
  --tool-call-parser hermes

  # Qwen3 may emit <think>...</think>; the parser moves it to reasoning_content so it never reaches a
  # customer. Thinking is off per request: the hub sends chat_template_kwargs {"enable_thinking": false}
  # (core/llm), which makes the chat template close the think block before generation.
  --reasoning-parser qwen3
)

if [[ -n "${LORA_MODULES:-}" ]]; then
  # A tenant's domain adapter is chosen by model name: a request with model "acme" uses the adapter
  # registered as acme=/adapters/acme, others use the base model. Rank 16 matches the recipe in
  # gpu-serving/lora (r=16); max-loras is how many adapters can be active in one batch.
  read -r -a modules <<<"$LORA_MODULES"
  args+=(--enable-lora --max-lora-rank 16 --max-loras 4 --lora-modules "${modules[@]}")
fi

exec vllm "${args[@]}"
