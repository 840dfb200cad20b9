import XCTest
@testable import Comm

final class ShardCountsTests: XCTestCase {
    func testShardCountsAreBalancedAndSumToTotal() {
        for parts in 1...9 {
            for total in 0...40 {
                let counts = shardCounts(total: total, parts: parts)
                XCTAssertEqual(counts.count, parts)
                XCTAssertEqual(counts.reduce(0, +), total)
                XCTAssertLessThanOrEqual((counts.max() ?? 0) - (counts.min() ?? 0), 1)
                // The extra elements go to the first ranks: counts never increase.
                XCTAssertEqual(counts, counts.sorted(by: >))
                XCTAssertEqual(counts.filter { $0 == total / parts + 1 }.count, total % parts)
            }
        }
        XCTAssertEqual(shardCounts(total: 10, parts: 4), [3, 3, 2, 2])
        XCTAssertEqual(shardCounts(total: 2, parts: 4), [1, 1, 0, 0])
        XCTAssertEqual(shardCounts(total: 0, parts: 3), [0, 0, 0])
    }

    func testShardOffsetsArePrefixSums() {
        XCTAssertEqual(shardOffsets(counts: [3, 0, 2, 5]), [0, 3, 3, 5])
        XCTAssertEqual(shardOffsets(counts: []), [])
    }

    func testLauncherDetectionFromEnvironment() {
        XCTAssertFalse(MPIRuntime.isLaunchedUnderMPI(environment: [:]))
        XCTAssertFalse(MPIRuntime.isLaunchedUnderMPI(environment: ["HOME": "/root"]))
        XCTAssertTrue(MPIRuntime.isLaunchedUnderMPI(environment: ["OMPI_COMM_WORLD_SIZE": "4"]))
        XCTAssertTrue(MPIRuntime.isLaunchedUnderMPI(environment: ["PMIX_RANK": "0"]))
        XCTAssertTrue(MPIRuntime.isLaunchedUnderMPI(environment: ["PMI_RANK": "2"]))
        XCTAssertFalse(MPIRuntime.isLaunchedUnderMPI(environment: ["SLURM_PROCID": "0"]))
        XCTAssertTrue(MPIRuntime.isLaunchedUnderMPI(environment: ["SLURM_PROCID": "0", "SLURM_NTASKS": "8"]))
    }

    func testCommErrorDescriptionNamesCallAndCode() {
        XCTAssertEqual(CommError(call: "MPI_Bcast", code: 5, message: "MPI_ERR_COUNT: invalid count argument").description,
                       "MPI_Bcast failed (MPI error 5): MPI_ERR_COUNT: invalid count argument")
        XCTAssertEqual(CommError(call: "barrier", message: "rank 2 failed: boom").description, "barrier failed: rank 2 failed: boom")
    }
}
