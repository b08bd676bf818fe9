/*
 * The change-driven engine (engine.h).  Pure bookkeeping: the nodes' own
 * functions do the work.
 */
#include "datapath/engine.h"

#include <stdlib.h>

#include "lib/log.h"

#define LOG_MODULE "engine"

static bool run_incremental(struct dp_engine_node *const *nodes, size_t n);
static void recompute_all(struct dp_engine_node *const *nodes, size_t n);

void
dp_engine_add_input(struct dp_engine_node *node, struct dp_engine_node *input,
                    dp_engine_handler_fn *handler)
{
    if (node->n_inputs >= DP_ENGINE_MAX_INPUTS) {
        log_error("engine node %s: too many inputs", node->name);
        abort();
    }
    node->inputs[node->n_inputs].node = input;
    node->inputs[node->n_inputs].handler = handler;
    node->n_inputs++;
}

bool
dp_engine_run(struct dp_engine_node *const *nodes, size_t n, bool recompute)
{
    if (!recompute && run_incremental(nodes, n)) {
        return false;
    }
    recompute_all(nodes, n);
    return true;
}

void
dp_engine_clear_tracked(struct dp_engine_node *const *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (nodes[i]->clear) {
            nodes[i]->clear(nodes[i]);
        }
        nodes[i]->state = DP_ENGINE_UNCHANGED;
    }
}

/* Runs every node through its handlers.  Returns false as soon as one
 * cannot cope (the nodes' data is then half updated: the caller
 * recomputes everything). */
static bool
run_incremental(struct dp_engine_node *const *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct dp_engine_node *node = nodes[i];

        node->state = DP_ENGINE_UNCHANGED;
        if (!node->n_inputs) {
            if (node->changed && node->changed(node)) {
                node->state = DP_ENGINE_UPDATED;
            }
            continue;
        }
        for (size_t j = 0; j < node->n_inputs; j++) {
            struct dp_engine_node *input = node->inputs[j].node;
            dp_engine_handler_fn *handler = node->inputs[j].handler;

            if (input->state == DP_ENGINE_UNCHANGED) {
                continue;
            }
            if (input->state == DP_ENGINE_RECOMPUTED || !handler) {
                log_debug("engine: %s has no handler for %s", node->name,
                          input->name);
                return false;
            }
            switch (handler(node, input)) {
            case DP_ENGINE_HANDLED_UNCHANGED:
                break;
            case DP_ENGINE_HANDLED_UPDATED:
                node->state = DP_ENGINE_UPDATED;
                break;
            case DP_ENGINE_UNHANDLED:
            default:
                log_debug("engine: %s cannot handle a change of %s",
                          node->name, input->name);
                return false;
            }
        }
        if (node->state == DP_ENGINE_UPDATED) {
            node->n_handled++;
        }
    }
    return true;
}

static void
recompute_all(struct dp_engine_node *const *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nodes[i]->recompute(nodes[i]);
        nodes[i]->state = DP_ENGINE_RECOMPUTED;
        nodes[i]->n_recomputes++;
    }
}
