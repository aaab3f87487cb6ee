// Finds a query's `_id` equality and the `_id` index entry for it: the candidates a filter with
// an `_id` equality can match, as MongoDB's planner narrows such a query to its `_id` index.
package odmd.launcher;

import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * mongo-java-server 1.46 takes an index only when the query's keys are exactly the index's keys
 * ({@code AbstractMongoCollection.queryDocuments} asks each index {@code canHandle(query)}), so
 * {@code {_id: X, __v: N}} (odmd's compare-and-set) scans the whole collection although at most
 * one document, the one with {@code _id} X, can match.
 *
 * <p>{@link #candidates} answers, for a query with a top-level {@code _id: X} beside other
 * conditions, or {@code _id: {$eq: X, ...}} (which the library scans even alone), the positions
 * the collection's unique {@code _id} index holds for {@code {_id: X}}: the same lookup the
 * library makes for the plain by-id query.
 * The caller still applies the whole query to each candidate with the library's own matcher, so
 * the answer is the scan's: a document the scan would match has {@code _id} equal to X, and
 * the index holds every document under its (normalised) {@code _id}. Only values whose equality
 * is plain value equality are narrowed: never null (it also matches a missing field), an embedded
 * document, an array or a regular expression; those keep the library's path.
 */
final class IdLookup {
    private static final String EQ = "$eq";

    private IdLookup() {
    }

    /**
     * Returns: the candidate positions for {@code query}, or null when the query is not one this
     * narrows (no {@code _id} equality on a plain value, a plain {@code {_id: X}} alone, or no
     * unique index on exactly {@code idField}); the caller then runs the library's own query
     * path. Borrowed: the indexes (the caller holds the collection's lock, as the library's
     * query path does).
     */
    static <P> Iterable<P> candidates(List<Index<P>> indexes, String idField, Document query) {
        if (idField == null || query == null || query.isEmpty()) {
            return null;
        }
        Object condition = query.get(idField);
        if (query.size() == 1 && !(condition instanceof Document)) {
            return null; // {_id: X} alone: the library's own by-id lookup
        }
        Object value = equalityValue(condition);
        if (value == null) {
            return null;
        }
        Index<P> index = idIndex(indexes, idField);
        if (index == null) {
            return null;
        }
        Document byId = new Document(idField, value);
        if (!index.canHandle(byId)) {
            return null;
        }
        return index.getPositions(byId);
    }

    /** The X of {@code _id: X} or {@code _id: {$eq: X, ...}} when X is a plain value; else null. */
    private static Object equalityValue(Object condition) {
        if (condition instanceof Document) {
            Document operators = (Document) condition;
            if (!operators.containsKey(EQ) || BsonRegularExpression.isRegularExpression(operators)) {
                return null;
            }
            for (String key : operators.keySet()) {
                if (!key.startsWith("$")) {
                    return null; // an embedded document compared as a whole
                }
            }
            condition = operators.get(EQ);
        }
        return isPlainValue(condition) ? condition : null;
    }

    private static boolean isPlainValue(Object value) {
        return !Missing.isNullOrMissing(value) && !(value instanceof Map) && !(value instanceof Collection)
            && !(value instanceof Pattern) && !BsonRegularExpression.isRegularExpression(value);
    }

    /** The unique index whose only key is {@code idField}, or null. */
    private static <P> Index<P> idIndex(List<Index<P>> indexes, String idField) {
        for (Index<P> index : indexes) {
            List<IndexKey> keys = index.getKeys();
            if (index.isUnique() && keys.size() == 1 && keys.get(0).getKey().equals(idField)) {
                return index;
            }
        }
        return null;
    }
}
