// Private to storage/src: the node id of a data directory (DIR/node-id), which names this
// node's workers on a database shared by several nodes (docs/storage.md "Leases across nodes").
#pragma once

#include <string>

namespace skintrack::storage::detail {

// Reads DIR/node-id, creating it on first use as "<host name>-<8 random hex digits>" (mode 0600,
// fsynced). The caller holds the data directory lock, so no two processes create it at once, and
// no two live processes share it. Error(kInvalidArgument) for a file that holds no valid id (an
// operator's edit: it must stay [A-Za-z0-9.-], 1..48 characters), Error(kIo) if it cannot be
// read or written.
std::string LoadOrCreateNodeId(const std::string& dir);

// A node id for a store without a directory (in memory): "mem-<8 random hex digits>".
std::string EphemeralNodeId();

// True for [A-Za-z0-9.-], 1..48 characters.
bool IsValidNodeId(const std::string& id);

}  // namespace skintrack::storage::detail
