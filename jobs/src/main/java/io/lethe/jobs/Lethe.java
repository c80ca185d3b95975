package io.lethe.jobs;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** The single entry point: {@code lethe <job> [options]}. Each job also has its own main class. */
@Command(name = "lethe", mixinStandardHelpOptions = true, versionProvider = Lethe.Version.class,
    description = "Machine unlearning on Spark and Delta Lake (SISA): sharded training, exact forgetting.",
    subcommands = {IngestJob.class, TrainJob.class, ForgetJob.class, PurgeJob.class, ScoreJob.class, StatusJob.class, VerifyJob.class, DemoJob.class, BenchJob.class,
        CommandLine.HelpCommand.class})
public final class Lethe implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }

  public static void main(String[] args) {
    main(new Lethe(), args);
  }

  /**
   * A job's main: runs the command and exits with its code. Standard output carries the job's JSON
   * summary alone: for the run, each line that libraries print there (Delta's VACUUM prints its
   * tally) is logged instead, by the logger {@code io.lethe.stdout}.
   */
  static void main(Object command, String[] args) {
    PrintStream stdout = System.out;
    int code;
    System.setOut(loggedLines(LoggerFactory.getLogger("io.lethe.stdout")));
    try {
      code = commandLine(command).setOut(new PrintWriter(stdout, true)).execute(args);
    } finally {
      System.setOut(stdout);
    }
    exit(code);
  }

  /**
   * A stream whose every line is logged at INFO. A logging set-up whose console follows standard
   * output would print back into it: such a line goes to standard error instead.
   */
  private static PrintStream loggedLines(Logger log) {
    return new PrintStream(new OutputStream() {
      private final ByteArrayOutputStream line = new ByteArrayOutputStream();
      private boolean logging;

      @Override
      public synchronized void write(int b) {
        if (logging) {
          System.err.write(b);
          return;
        }
        if (b != '\n') {
          line.write(b);
          return;
        }
        String text = line.toString(StandardCharsets.UTF_8).stripTrailing();
        line.reset();
        if (!text.isEmpty()) {
          logging = true;
          try {
            log.info(text);
          } finally {
            logging = false;
          }
        }
      }
    }, true, StandardCharsets.UTF_8);
  }

  /** Runs a command with its output and error streams redirected, and returns its exit code. */
  public static int execute(Object command, PrintWriter out, PrintWriter err, String... args) {
    return commandLine(command).setOut(out).setErr(err).execute(args);
  }

  /** The command line of a command, each job's help completed with what the registries hold. */
  private static CommandLine commandLine(Object command) {
    CommandLine line = new CommandLine(command);
    describe(line);
    return line;
  }

  private static void describe(CommandLine line) {
    if (line.getCommand() instanceof JobCommand job && !job.registryHelp().isEmpty()) {
      List<String> description = new ArrayList<>(List.of(line.getCommandSpec().usageMessage().description()));
      description.addAll(job.registryHelp());
      line.getCommandSpec().usageMessage().description(description.toArray(new String[0]));
    }
    line.getSubcommands().values().forEach(Lethe::describe);
  }

  /**
   * Ends a command-line run: stops a local SparkSession that Lethe started (a cluster's or a
   * notebook's session is left alone) and exits with the code when it is not zero. As a Databricks
   * jar task (DATABRICKS_RUNTIME_VERSION is set) it never exits the JVM, which the platform owns: a
   * failure is an exception, which fails the task run.
   */
  static void exit(int code) {
    exit(code, System.getenv("DATABRICKS_RUNTIME_VERSION") != null);
  }

  public static void exit(int code, boolean databricks) {
    if (!databricks && !new SparkConf().contains("spark.master")) {
      scala.Option<SparkSession> session = SparkSession.getDefaultSession();
      if (session.isDefined()) {
        session.get().stop();
      }
    }
    if (code == 0) {
      return;
    }
    if (databricks) {
      throw new JobFailedException(code);
    }
    System.exit(code);
  }

  /** A job run that failed, for hosts that own the JVM: its message went to standard error already. */
  public static final class JobFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    JobFailedException(int exitCode) {
      super("The lethe job failed (exit code " + exitCode + "); its error message and JSON run summary are above");
      this.exitCode = exitCode;
    }

    public int exitCode() {
      return exitCode;
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Lethe.class.getPackage().getImplementationVersion();
      return new String[] {"lethe " + (v == null ? "development build" : v) + ", Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION()};
    }
  }
}
