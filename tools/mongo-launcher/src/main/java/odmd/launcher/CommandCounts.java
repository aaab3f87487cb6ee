// Counts the commands the server receives, by name, for the benchmark's "database commands per request".
package odmd.launcher;

import de.bwaldvogel.mongo.bson.Document;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Every command a backend handles, counted by its name (a LongAdder each: no lock on the hot
 * path). The command {@code {odmdCommandCounts: 1}} (on any database) answers
 * {@code {ok: 1, total: N, commands: {find: n, ...}}} and is not counted itself.
 */
final class CommandCounts {
    static final String COMMAND = "odmdCommandCounts";

    private static final ConcurrentHashMap<String, LongAdder> COUNTS = new ConcurrentHashMap<>();

    private CommandCounts() {
    }

    /** Counts {@code command}; returns the counts' reply when it is the counting command, else null. */
    static Document count(String command) {
        if (COMMAND.equals(command)) {
            return reply();
        }
        COUNTS.computeIfAbsent(command, k -> new LongAdder()).increment();
        return null;
    }

    private static Document reply() {
        Map<String, Long> sorted = new TreeMap<>();
        long total = 0;
        for (Map.Entry<String, LongAdder> e : COUNTS.entrySet()) {
            long n = e.getValue().sum();
            sorted.put(e.getKey(), n);
            total += n;
        }
        Document commands = new Document();
        sorted.forEach(commands::append);
        return new Document("ok", 1.0).append("total", total).append("commands", commands);
    }
}
