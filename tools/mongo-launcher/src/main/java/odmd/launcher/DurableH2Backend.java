// The H2 (MVStore) backend with every write committed and fsynced before its reply is sent, and
// queries with an `_id` equality answered from the `_id` index.
package odmd.launcher;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;

import org.h2.mvstore.MVMap;

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
 *
 * <p>Its collections are narrowed by {@link IdLookup}, as the in-memory backend's are.
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
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new Database(databaseName, getCursorRegistry());
    }

    /**
     * H2Database keeps its MVStore private and opens the existing collections from its own
     * constructor, before a subclass's field could be set: this inner class reads the store from
     * the enclosing backend instead (the enclosing instance is set before the superclass's
     * constructor runs).
     */
    private final class Database extends H2Database {
        /** H2Database's map name prefixes (package-private there). */
        private static final String DATA_PREFIX = "databases.";
        private static final String META_PREFIX = "meta.";

        Database(String databaseName, CursorRegistry cursorRegistry) {
            super(databaseName, getMvStore(), cursorRegistry);
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName,
                                                                 CollectionOptions options) {
            String fullName = getFullCollectionNamespace(collectionName);
            MVMap<Object, Document> dataMap = getMvStore().openMap(DATA_PREFIX + fullName);
            MVMap<String, Object> metaMap = getMvStore().openMap(META_PREFIX + fullName);
            return new Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
        }
    }

    /** H2Collection whose queryDocuments is narrowed as IdIndexedMemoryBackend's collections are. */
    private static final class Collection extends H2Collection {
        Collection(MongoDatabase database, String collectionName, CollectionOptions options,
                   MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap,
                   CursorRegistry cursorRegistry) {
            super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                             int batchSize, Document fieldSelector) {
            Iterable<Object> candidates = IdLookup.candidates(getIndexes(), getIdField(), query);
            if (candidates == null) {
                return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
            }
            return matchDocuments(query, candidates, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
    }

    @Override
    public Document handleCommand(Channel channel, String database, String command, Document query) {
        Document counts = CommandCounts.count(command);
        if (counts != null) {
            return counts;
        }
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
