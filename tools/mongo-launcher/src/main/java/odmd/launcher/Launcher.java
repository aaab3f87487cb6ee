// Starts mongo-java-server on 127.0.0.1 (in memory or on an H2 file) for odmd's local runs and tests.
package odmd.launcher;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;

import java.io.File;
import java.net.InetSocketAddress;
import java.util.List;

public final class Launcher {
    private static final String HOST = "127.0.0.1";
    private static final String USAGE =
        "usage: mongo-java-server [--port N] (--memory | --h2 FILE) [--verbose]\n"
        + "  --port N     TCP port on 127.0.0.1 (default 27017; 0 picks a free one)\n"
        + "  --memory     keep the data in memory (lost on exit)\n"
        + "  --h2 FILE    keep the data in an H2 MVStore file (kept across restarts; every write\n"
        + "               is committed and fsynced before it is acknowledged)\n"
        + "  --verbose    log the server's info lines to stderr\n"
        + "Prints \"listening 127.0.0.1:PORT\" on stdout once it accepts connections.";

    /** Reports MongoDB 6.0 (wire version 17): the library's own constants stop at 4.0 (wire 7). */
    private enum Version implements MongoVersion {
        MONGO_6_0(List.of(6, 0, 0), 17);

        private final List<Integer> versionArray;
        private final int wireVersion;

        Version(List<Integer> versionArray, int wireVersion) {
            this.versionArray = versionArray;
            this.wireVersion = wireVersion;
        }

        @Override
        public List<Integer> getVersionArray() {
            return versionArray;
        }

        @Override
        public int getWireVersion() {
            return wireVersion;
        }
    }

    private Launcher() {
    }

    private static void fail(String message) {
        System.err.println("mongo-java-server: " + message);
        System.err.println(USAGE);
        System.exit(2);
    }

    private static int parsePort(String text) {
        try {
            int port = Integer.parseInt(text);
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        fail("invalid port '" + text + "'");
        return -1;
    }

    public static void main(String[] args) {
        int port = 27017;
        boolean memory = false;
        String h2File = null;
        boolean verbose = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            boolean hasValue = i + 1 < args.length;
            if (arg.equals("--port") && hasValue) {
                port = parsePort(args[++i]);
            } else if (arg.equals("--memory")) {
                memory = true;
            } else if (arg.equals("--h2") && hasValue) {
                h2File = args[++i];
            } else if (arg.equals("--verbose")) {
                verbose = true;
            } else if (arg.equals("--help") || arg.equals("-h")) {
                System.out.println(USAGE);
                return;
            } else {
                fail("unknown or incomplete option '" + arg + "'");
            }
        }
        if (memory == (h2File != null)) {
            fail("give exactly one of --memory and --h2 FILE");
        }
        // Before the first logger exists: slf4j-simple reads these once.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", verbose ? "info" : "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.exit(serve(port, h2File));
    }

    private static int serve(int port, String h2File) {
        MongoBackend backend;
        if (h2File != null) {
            File parent = new File(h2File).getAbsoluteFile().getParentFile();
            if (parent != null && !parent.isDirectory() && !parent.mkdirs()) {
                System.err.println("mongo-java-server: cannot create folder '" + parent + "'");
                return 1;
            }
            try {
                backend = new DurableH2Backend(h2File);
            } catch (RuntimeException e) {
                System.err.println("mongo-java-server: cannot open '" + h2File + "': " + e.getMessage());
                return 1;
            }
        } else {
            backend = new IdIndexedMemoryBackend();
        }
        backend.version(Version.MONGO_6_0);
        MongoServer server = new MongoServer(backend);
        try {
            server.bind(HOST, port);
        } catch (Exception e) { // netty rethrows a BindException unchecked
            System.err.println("mongo-java-server: cannot listen on " + HOST + ":" + port + ": "
                + rootMessage(e));
            backend.close();
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "mongo-java-server-shutdown"));
        InetSocketAddress bound = server.getLocalAddress();
        System.out.println("listening " + HOST + ":" + bound.getPort());
        System.out.flush();
        try {
            Thread.currentThread().join(); // until SIGTERM/SIGINT run the shutdown hook
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private static String rootMessage(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        return message != null ? message : cause.toString();
    }
}
