//! The `aidgraph` command line.

use aidgraph::config::Config;
use aidgraph::{app, bench_data, demo, telemetry, token};
use clap::{Parser, Subcommand};

/// aidgraph: a GraphQL registry that coordinates technical assistance.
#[derive(Parser)]
#[command(name = "aidgraph", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve GraphQL (default 127.0.0.1:8080).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Ask the service at AIDGRAPH_BIND whether it is ready (`/readyz`); exit 0 if it is. For
    /// container health checks.
    Healthcheck,
    /// Manage tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Import activities.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Export published activities to standard output.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Overlap flags.
    Overlaps {
        #[command(subcommand)]
        command: OverlapsCommand,
    },
    /// Exchange rates for converting money in analytics.
    Rates {
        #[command(subcommand)]
        command: RatesCommand,
    },
    /// Generate a realistic synthetic registry (published), then compute its flags.
    BenchData {
        /// How many activities.
        #[arg(long, default_value_t = 10_000)]
        activities: usize,
        /// How many needs.
        #[arg(long, default_value_t = 1_000)]
        needs: usize,
        /// Random seed; the same seed gives the same registry.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Load a small demo registry: providers, two recipient states with published needs, and
    /// activities that overlap. Safe to run twice.
    Demo,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import IATI activity files (versions 1.0x and 2.0x); each activity is upserted by
    /// identifier, so importing twice changes nothing.
    Iati {
        /// The files.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Import as this provider: only activities it reports are imported.
        #[arg(long)]
        as_provider: Option<String>,
        /// List every warning, not only their counts by reason.
        #[arg(long, short)]
        verbose: bool,
    },
}

#[derive(clap::Args)]
struct ExportArgs {
    /// Only activities in this recipient country.
    #[arg(long)]
    country: Option<String>,
    /// Only activities reported by, or run with, this organisation.
    #[arg(long)]
    provider: Option<String>,
    /// Only activities in this sector (e.g. DAC 15130).
    #[arg(long)]
    sector: Option<String>,
}

#[derive(Subcommand)]
enum ExportCommand {
    /// IATI 2.03 XML.
    Iati(ExportArgs),
    /// CSV, one row per activity, codes with their names.
    Csv(ExportArgs),
}

#[derive(Subcommand)]
enum OverlapsCommand {
    /// Recompute every flag (or those in one country), with progress.
    Recompute {
        /// Only pairs sharing this recipient country.
        #[arg(long)]
        country: Option<String>,
    },
}

#[derive(Subcommand)]
enum RatesCommand {
    /// Load monthly rates from a CSV file of `currency,month,units_per_usd` lines (a header
    /// line is allowed), replacing the months it names. One bad line loads nothing.
    Load {
        /// The CSV file.
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Mint a bearer token signed with the configured secret.
    Issue {
        /// admin, coordinator, provider, recipient or viewer.
        #[arg(long)]
        role: String,
        /// A provider's organisation reference, e.g. GB-GOV-1.
        #[arg(long)]
        org: Option<String>,
        /// A recipient's country, ISO 3166-1 alpha-2.
        #[arg(long)]
        country: Option<String>,
        /// Lifetime: seconds, or a number with s, m, h or d.
        #[arg(long, default_value = "12h")]
        ttl: String,
        /// The token's subject (defaults to the role and scope).
        #[arg(long)]
        subject: Option<String>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        // Printing the SDL needs no configuration, so a bad environment cannot break it.
        print!("{}", aidgraph_api::sdl());
        return std::process::ExitCode::SUCCESS;
    }
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("aidgraph: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    match run(cli.command, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aidgraph: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => app::serve(config).await,
        Command::Healthcheck => app::healthcheck(&config),
        Command::Migrate => {
            app::connect_and_migrate(&config).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Issue {
                    role,
                    org,
                    country,
                    ttl,
                    subject,
                },
        } => {
            let auth = app::authenticator(&config)?;
            let token = token::issue(
                &auth,
                &role,
                org.as_deref(),
                country.as_deref(),
                &ttl,
                subject.as_deref(),
            )?;
            println!("{token}");
            Ok(())
        }
        Command::Schema => {
            print!("{}", aidgraph_api::sdl());
            Ok(())
        }
        Command::Import {
            command:
                ImportCommand::Iati {
                    files,
                    as_provider,
                    verbose,
                },
        } => {
            let store = app::connect_and_migrate(&config).await?;
            app::import_iati(&store, &files, as_provider.as_deref(), verbose).await
        }
        Command::Export { command } => {
            let store = app::connect_and_migrate(&config).await?;
            let (args, csv) = match command {
                ExportCommand::Iati(a) => (a, false),
                ExportCommand::Csv(a) => (a, true),
            };
            let filter = aidgraph_api::iati::ExportFilter {
                country: args.country,
                provider: args.provider,
                sector: args.sector,
            };
            app::export(&store, &filter, csv).await
        }
        Command::Overlaps {
            command: OverlapsCommand::Recompute { country },
        } => {
            let store = app::connect_and_migrate(&config).await?;
            let summary = app::recompute(&store, country.as_deref()).await?;
            println!("{summary}");
            Ok(())
        }
        Command::Rates {
            command: RatesCommand::Load { file },
        } => {
            let store = app::connect_and_migrate(&config).await?;
            let loaded = app::load_rates(&store, &file).await?;
            println!("{loaded} monthly rates loaded from {}", file.display());
            Ok(())
        }
        Command::BenchData {
            activities,
            needs,
            seed,
        } => {
            let store = app::connect_and_migrate(&config).await?;
            let started = std::time::Instant::now();
            bench_data::generate(&store, activities, needs, seed, |done, total| {
                eprintln!("generating activities: {done}/{total}");
            })
            .await?;
            eprintln!("generated in {:.1} s", started.elapsed().as_secs_f64());
            let summary = app::recompute(&store, None).await?;
            println!("{summary}");
            Ok(())
        }
        Command::Demo => {
            let store = app::connect_and_migrate(&config).await?;
            let summary = demo::load(&store).await?;
            println!("{summary}");
            Ok(())
        }
    }
}
