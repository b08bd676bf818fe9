/*
 * engine: a small change-driven computation engine, in the spirit of
 * ovn-controller's incremental processing engine, for the reconciler
 * (reconcile.c).  Only datapath/ includes this.
 *
 * A computation is a list of nodes in dependency order.  An input node
 * has no inputs of its own: it holds data fed from outside (store rows,
 * the OVS replica) and tracks what changed since the last run.  Every
 * other node computes its data from its inputs, and has for each input a
 * change handler that turns that input's tracked changes into changes of
 * its own data, and a full recompute that is always correct.  A run walks
 * the nodes in order: a node whose inputs did not change keeps its data; a
 * node whose changed inputs all have handlers that cope is updated in
 * place; any other node recomputes, which makes every node after it that
 * depends on it recompute too.  A handler that cannot cope (a change it
 * was not written for) makes the whole run a full recompute, so the
 * result never depends on which path was taken.
 *
 * The engine does no I/O; nodes decide what to write, and the caller
 * writes it once the run is over.
 */
#ifndef NETPOOL_DATAPATH_ENGINE_H
#define NETPOOL_DATAPATH_ENGINE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_ENGINE_MAX_INPUTS 4 /* Inputs one node may have. */

struct dp_engine_node;

/* What a node's run did. */
enum dp_engine_state {
    DP_ENGINE_UNCHANGED,  /* Data as before. */
    DP_ENGINE_UPDATED,    /* Data changed in place; tracked changes say
                           * how. */
    DP_ENGINE_RECOMPUTED, /* Data computed afresh; nothing is tracked. */
};

/* What a change handler says. */
enum dp_engine_handled {
    DP_ENGINE_HANDLED_UNCHANGED, /* Coped; this node's data is the same. */
    DP_ENGINE_HANDLED_UPDATED,   /* Coped; this node's data changed. */
    DP_ENGINE_UNHANDLED,         /* Cannot cope: recompute everything. */
};

/* Recomputes 'node''s data from its inputs (an input node: reloads it from
 * its source). */
typedef void dp_engine_recompute_fn(struct dp_engine_node *node);

/* Turns the tracked changes of 'input' into changes of 'node''s data. */
typedef enum dp_engine_handled
dp_engine_handler_fn(struct dp_engine_node *node,
                     struct dp_engine_node *input);

/* Returns true if input node 'node' has tracked changes. */
typedef bool dp_engine_changed_fn(struct dp_engine_node *node);

/* Forgets 'node''s tracked changes once a run is over. */
typedef void dp_engine_clear_fn(struct dp_engine_node *node);

/* One node.  The caller owns it (usually inside a larger structure) and
 * fills the fields above the line before dp_engine_add_input(). */
struct dp_engine_node {
    const char *name;                  /* For logs and counters. */
    void *data;                        /* The node's data. */
    dp_engine_recompute_fn *recompute; /* Full computation. */
    dp_engine_changed_fn *changed;     /* Input nodes: changes pending? */
    dp_engine_clear_fn *clear;         /* Forgets tracked changes; may be
                                        * NULL. */

    /* Set by the engine. */
    struct {
        struct dp_engine_node *node;   /* An input. */
        dp_engine_handler_fn *handler; /* Its handler, or NULL for none
                                        * (a change recomputes). */
    } inputs[DP_ENGINE_MAX_INPUTS];
    size_t n_inputs;            /* Entries in 'inputs'. */
    enum dp_engine_state state; /* What the last run did. */
    uint64_t n_recomputes;      /* Full recomputes so far. */
    uint64_t n_handled;         /* Runs where handlers coped. */
};

/* Makes 'input' an input of 'node', whose changes 'handler' (may be NULL)
 * handles.  'input' must come before 'node' in the run order. */
void dp_engine_add_input(struct dp_engine_node *node,
                         struct dp_engine_node *input,
                         dp_engine_handler_fn *handler);

/* Runs the 'n' nodes of 'nodes' (in dependency order): incrementally,
 * unless 'recompute' asks for a full recompute of every node.  Falls back
 * to a full recompute when a handler cannot cope.  Returns true if the run
 * was a full recompute.  Tracked changes are left for the caller to read
 * (each node's 'state' says what happened) until
 * dp_engine_clear_tracked(). */
bool dp_engine_run(struct dp_engine_node *const *nodes, size_t n,
                   bool recompute);

/* Forgets the tracked changes of every node of 'nodes' and marks them
 * unchanged. */
void dp_engine_clear_tracked(struct dp_engine_node *const *nodes, size_t n);

#endif
