# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(Q: T.Buffer((32, 256, 128), "float32"), K: T.Buffer((8, 256, 128), "float32"), V: T.Buffer((8, 256, 128), "float32"), O: T.Buffer((32, 256, 128), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        scores = T.sblock_alloc_buffer((32, 256, 256))
        row_max = T.sblock_alloc_buffer((32, 256))
        exps = T.sblock_alloc_buffer((32, 256, 256))
        row_sum = T.sblock_alloc_buffer((32, 256))
        row_sum_rf = T.sblock_alloc_buffer((32, 256, 16))
        row_max_rf = T.sblock_alloc_buffer((32, 256, 8))
        O_global = T.sblock_alloc_buffer((32, 256, 128))
        scores_global = T.sblock_alloc_buffer((32, 256, 256))
        for h_0_i_0_fused in T.parallel(128, annotations={"pragma_auto_unroll_max_step": 64, "pragma_unroll_explicit": 1}):
            for j_0 in range(2):
                for h_1, i_1, j_1 in T.grid(2, 2, 2):
                    for h_2_init, i_2_init, j_2_init, h_3_init, i_3_init, j_3_init in T.grid(1, 8, 64, 2, 1, 1):
                        with T.sblock("scores_init"):
                            v_h = T.axis.spatial(32, h_0_i_0_fused // 16 * 4 + h_1 * 2 + h_2_init * 2 + h_3_init)
                            v_i = T.axis.spatial(256, h_0_i_0_fused % 16 * 16 + i_1 * 8 + i_2_init + i_3_init)
                            v_j = T.axis.spatial(256, j_0 * 128 + j_1 * 64 + j_2_init + j_3_init)
                            T.reads()
                            T.writes(scores_global[v_h, v_i, v_j])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            scores_global[v_h, v_i, v_j] = T.float32(0.0)
                    for d_0, h_2, i_2, j_2, d_1, h_3, i_3, j_3 in T.grid(32, 1, 8, 64, 4, 2, 1, 1):
                        with T.sblock("scores_update"):
                            v_h = T.axis.spatial(32, h_0_i_0_fused // 16 * 4 + h_1 * 2 + h_2 * 2 + h_3)
                            v_i = T.axis.spatial(256, h_0_i_0_fused % 16 * 16 + i_1 * 8 + i_2 + i_3)
                            v_j = T.axis.spatial(256, j_0 * 128 + j_1 * 64 + j_2 + j_3)
                            v_d = T.axis.reduce(128, d_0 * 4 + d_1)
                            T.reads(scores_global[v_h, v_i, v_j], Q[v_h, v_i, v_d], K[v_h // 4, v_j, v_d])
                            T.writes(scores_global[v_h, v_i, v_j])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            scores_global[v_h, v_i, v_j] = scores_global[v_h, v_i, v_j] + Q[v_h, v_i, v_d] * K[v_h // 4, v_j, v_d]
                for ax0, ax1, ax2 in T.grid(4, 16, 128):
                    with T.sblock("scores_global"):
                        v0 = T.axis.spatial(32, h_0_i_0_fused // 16 * 4 + ax0)
                        v1 = T.axis.spatial(256, h_0_i_0_fused % 16 * 16 + ax1)
                        v2 = T.axis.spatial(256, j_0 * 128 + ax2)
                        T.reads(scores_global[v0, v1, v2])
                        T.writes(scores[v0, v1, v2])
                        scores[v0, v1, v2] = scores_global[v0, v1, v2]
        for h_i_fused in T.parallel(8192, annotations={"pragma_auto_unroll_max_step": 64, "pragma_unroll_explicit": 1}):
            for j_1_fused_init in T.vectorized(8):
                with T.sblock("row_max_rf_init"):
                    vj_1 = T.axis.spatial(8, j_1_fused_init)
                    v_h = T.axis.spatial(32, h_i_fused // 256)
                    v_i = T.axis.spatial(256, h_i_fused % 256)
                    T.reads()
                    T.writes(row_max_rf[v_h, v_i, vj_1])
                    row_max_rf[v_h, v_i, vj_1] = T.float32(-340282346638528859811704183484516925440.0)
            for j_0 in range(32):
                for j_1_fused in T.vectorized(8):
                    with T.sblock("row_max_rf_update"):
                        vj_1 = T.axis.spatial(8, j_1_fused)
                        v_h = T.axis.spatial(32, h_i_fused // 256)
                        v_i = T.axis.spatial(256, h_i_fused % 256)
                        vj_0 = T.axis.reduce(32, j_0)
                        T.reads(row_max_rf[v_h, v_i, vj_1], scores[v_h, v_i, vj_0 * 8 + vj_1])
                        T.writes(row_max_rf[v_h, v_i, vj_1])
                        row_max_rf[v_h, v_i, vj_1] = T.max(row_max_rf[v_h, v_i, vj_1], scores[v_h, v_i, vj_0 * 8 + vj_1])
        for h_i_fused in T.parallel(8192, annotations={"pragma_auto_unroll_max_step": 64, "pragma_unroll_explicit": 1}):
            for c in range(256):
                for ax1_init, ax2_init in T.grid(1, 1):
                    with T.sblock("row_max_init"):
                        v_h = T.axis.spatial(32, h_i_fused // 256 + ax1_init)
                        v_i = T.axis.spatial(256, h_i_fused % 256 + ax2_init)
                        T.reads()
                        T.writes(row_max[v_h, v_i])
                        row_max[v_h, v_i] = T.float32(-340282346638528859811704183484516925440.0)
                for ax0, ax1, ax2 in T.grid(8, 1, 1):
                    with T.sblock("row_max_update"):
                        vj_1 = T.axis.reduce(8, ax0)
                        v_h = T.axis.spatial(32, h_i_fused // 256 + ax1)
                        v_i = T.axis.spatial(256, h_i_fused % 256 + ax2)
                        T.reads(row_max[v_h, v_i], row_max_rf[v_h, v_i, vj_1])
                        T.writes(row_max[v_h, v_i])
                        row_max[v_h, v_i] = T.max(row_max[v_h, v_i], row_max_rf[v_h, v_i, vj_1])
                with T.sblock("exps"):
                    v_h = T.axis.spatial(32, h_i_fused // 256)
                    v_i = T.axis.spatial(256, h_i_fused % 256)
                    v_c = T.axis.spatial(256, c)
                    T.reads(scores[v_h, v_i, v_c], row_max[v_h, v_i])
                    T.writes(exps[v_h, v_i, v_c])
                    exps[v_h, v_i, v_c] = T.exp((scores[v_h, v_i, v_c] - row_max[v_h, v_i]) * T.float32(0.088388347648318433))
        for h_i_fused in T.parallel(8192, annotations={"pragma_auto_unroll_max_step": 64, "pragma_unroll_explicit": 1}):
            for ax0, ax1, ax2 in T.grid(16, 1, 1):
                with T.sblock("row_sum_rf_init"):
                    vj2_0 = T.axis.spatial(16, ax0)
                    v_h = T.axis.spatial(32, h_i_fused // 256 + ax1)
                    v_i = T.axis.spatial(256, h_i_fused % 256 + ax2)
                    T.reads()
                    T.writes(row_sum_rf[v_h, v_i, vj2_0])
                    row_sum_rf[v_h, v_i, vj2_0] = T.float32(0.0)
                for ax3 in range(16):
                    with T.sblock("row_sum_rf_update"):
                        vj2_0 = T.axis.spatial(16, ax0)
                        v_h = T.axis.spatial(32, h_i_fused // 256 + ax1)
                        v_i = T.axis.spatial(256, h_i_fused % 256 + ax2)
                        vj2_1 = T.axis.reduce(16, ax3)
                        T.reads(row_sum_rf[v_h, v_i, vj2_0], exps[v_h, v_i, vj2_0 * 16 + vj2_1])
                        T.writes(row_sum_rf[v_h, v_i, vj2_0])
                        row_sum_rf[v_h, v_i, vj2_0] = row_sum_rf[v_h, v_i, vj2_0] + exps[v_h, v_i, vj2_0 * 16 + vj2_1]
            with T.sblock("row_sum_init"):
                v_h = T.axis.spatial(32, h_i_fused // 256)
                v_i = T.axis.spatial(256, h_i_fused % 256)
                T.reads()
                T.writes(row_sum[v_h, v_i])
                row_sum[v_h, v_i] = T.float32(0.0)
            for j2_0 in range(16):
                with T.sblock("row_sum_update"):
                    vj2_0 = T.axis.reduce(16, j2_0)
                    v_h = T.axis.spatial(32, h_i_fused // 256)
                    v_i = T.axis.spatial(256, h_i_fused % 256)
                    T.reads(row_sum[v_h, v_i], row_sum_rf[v_h, v_i, vj2_0])
                    T.writes(row_sum[v_h, v_i])
                    row_sum[v_h, v_i] = row_sum[v_h, v_i] + row_sum_rf[v_h, v_i, vj2_0]
        for h_0_i_0_c_0_fused in T.parallel(64, annotations={"pragma_auto_unroll_max_step": 64, "pragma_unroll_explicit": 1}):
            for h_1, i_1, c_1 in T.grid(4, 4, 2):
                for h_2_init, i_2_init, c_2_init, h_3_init, i_3_init in T.grid(8, 1, 32, 1, 1):
                    for c_3_fused_init in T.vectorized(2):
                        with T.sblock("O_init"):
                            v_h = T.axis.spatial(32, h_1 * 8 + h_2_init + h_3_init)
                            v_i = T.axis.spatial(256, h_0_i_0_c_0_fused * 4 + i_1 + i_2_init + i_3_init)
                            v_c = T.axis.spatial(128, c_1 * 64 + c_2_init * 2 + c_3_fused_init)
                            T.reads()
                            T.writes(O_global[v_h, v_i, v_c])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            O_global[v_h, v_i, v_c] = T.float32(0.0)
                for j_0, h_2, i_2, c_2, j_1, h_3, i_3 in T.grid(64, 8, 1, 32, 4, 1, 1):
                    for c_3_fused in T.vectorized(2):
                        with T.sblock("O_update"):
                            v_h = T.axis.spatial(32, h_1 * 8 + h_2 + h_3)
                            v_i = T.axis.spatial(256, h_0_i_0_c_0_fused * 4 + i_1 + i_2 + i_3)
                            v_c = T.axis.spatial(128, c_1 * 64 + c_2 * 2 + c_3_fused)
                            v_j = T.axis.reduce(256, j_0 * 4 + j_1)
                            T.reads(O_global[v_h, v_i, v_c], exps[v_h, v_i, v_j], row_sum[v_h, v_i], V[v_h // 4, v_j, v_c])
                            T.writes(O_global[v_h, v_i, v_c])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            O_global[v_h, v_i, v_c] = O_global[v_h, v_i, v_c] + exps[v_h, v_i, v_j] / row_sum[v_h, v_i] * V[v_h // 4, v_j, v_c]
            for ax0, ax1, ax2 in T.grid(32, 4, 128):
                with T.sblock("O_global"):
                    v0 = T.axis.spatial(32, ax0)
                    v1 = T.axis.spatial(256, h_0_i_0_c_0_fused * 4 + ax1)
                    v2 = T.axis.spatial(128, ax2)
                    T.reads(O_global[v0, v1, v2])
                    T.writes(O[v0, v1, v2])
                    O[v0, v1, v2] = O_global[v0, v1, v2]