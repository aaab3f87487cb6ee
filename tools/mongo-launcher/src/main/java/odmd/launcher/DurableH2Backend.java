// The H2 (MVStore) backend with every write committed and fsynced before its reply is sent.
package odmd.launcher;

import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;

import io.netty.channel.Channel;

import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * mongo-java-server's H2Backend commits its MVStore on a timer (about once a second), so a
 * write it has acknowledged is lost when the process dies before that commit. Its reply to a
 * command is written to the socket only after {@link #handleCommand} returns (the wire handler
 * calls the backend, then writes the result), so committing here, before returning, makes the
 * acknowledgement come after the write reached the file.
 *
 * <p>Group commit: a command whose write finished before another thread's commit began is
 * covered by that commit and waits for it instead of committing again. Each commit is followed
 * by {@code MVStore.sync()} (fsync of the file).
 */
final class DurableH2Backend extends H2Backend {
    /** Commands that change data or indexes (first key of the command document). */
    private static final Set<String> WRITES = Set.of("insert", "update", "delete", "findandmodify",
        "create", "createindexes", "drop", "dropdatabase", "dropindexes", "deleteindexes",
        "renamecollection", "aggregate", "collmod", "applyops", "clonecollectionascapped");

    private final ReentrantLock commitLock = new ReentrantLock();
    /** Commits begun so far; a write done before this counter reached n is covered by commit n. */
    private volatile long commitsBegun;
    /** The last commit (by number) that has finished, sync included. Guarded by commitLock. */
    private long commitsDone;

    DurableH2Backend(String fileName) {
        super(fileName);
    }

    @Override
    public Document handleCommand(Channel channel, String database, String command, Document query) {
        boolean write = WRITES.contains(command.toLowerCase(java.util.Locale.ROOT));
        try {
            return super.handleCommand(channel, database, command, query);
        } finally {
            // A failed write may still have changed data (an insert of several documents stops
            // at the first duplicate): commit either way.
            if (write || getMvStore().hasUnsavedChanges()) {
                commitDurably();
            }
        }
    }

    /** Returns once a commit that began after the caller's write has finished (and synced). */
    private void commitDurably() {
        long needed = commitsBegun + 1; // any commit numbered this or higher began after our write
        commitLock.lock();
        try {
            if (commitsDone >= needed) {
                return; // another thread's commit covered this write while we waited
            }
            long mine = ++commitsBegun;
            commit();
            getMvStore().sync();
            commitsDone = mine;
        } finally {
            commitLock.unlock();
        }
    }
}
