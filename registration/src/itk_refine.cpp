// The only file of skintrack that includes ITK (see itk_refine.h for the coordinate set-up).
// One metric type (Mattes MI, float images) serves every transform, so the expensive template
// instantiations happen once.
#include "itk_refine.h"

#include <itkAffineTransform.h>
#include <itkBSplineTransform.h>
#include <itkCompositeTransform.h>
#include <itkEuler2DTransform.h>
#include <itkImage.h>
#include <itkImageMaskSpatialObject.h>
#include <itkLBFGSBOptimizerv4.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>
#include <itkSimilarity2DTransform.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace skintrack::registration::detail {
namespace {

using ImageType = itk::Image<float, 2>;
using MaskImageType = itk::Image<unsigned char, 2>;
using MaskType = itk::ImageMaskSpatialObject<2>;
using MattesType = itk::MattesMutualInformationImageToImageMetricv4<ImageType, ImageType>;

// Mattes MI whose number of work units can be set. The public SetMaximumNumberOfWorkUnits only
// caps threads: the metric still splits its points into the pool's default number of work units
// and sums their derivative buffers in the order they take a lock, so even "one thread" gave
// results differing by ~1e-13 between runs. One work unit is bit-reproducible.
// clang-format off
// (ITK's macros end in ';' themselves, -Wpedantic rejects another, and clang-format cannot
// format a line without one.)
class MetricType : public MattesType {
 public:
  ITK_DISALLOW_COPY_AND_MOVE(MetricType);
  using Self = MetricType;
  using Superclass = MattesType;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self)
  itkTypeMacro(MetricType, MattesType)

  void SetWorkUnits(itk::ThreadIdType n) {
    this->m_SparseGetValueAndDerivativeThreader->SetNumberOfWorkUnits(n);
    this->m_DenseGetValueAndDerivativeThreader->SetNumberOfWorkUnits(n);
    this->SetMaximumNumberOfWorkUnits(n);
    this->Modified();
  }

 protected:
  MetricType() = default;
  ~MetricType() override = default;
};
// clang-format on
using PointSetType = MetricType::FixedSampledPointSetType;
using LinearType = itk::MatrixOffsetTransformBase<double, 2, 2>;
using BSplineType = itk::BSplineTransform<double, 2, 3>;
using CompositeType = itk::CompositeTransform<double, 2>;

// Geometry of one pyramid level in full-resolution pixel units.
struct Geometry {
  double origin = 0;   // physical coordinate of index 0 (same on both axes)
  double spacing = 1;  // physical size of one pixel
};

// SplitMix64: a tiny generator whose output is fixed by its definition (std:: distributions are
// implementation-defined), so sample grids are the same on every machine.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int Below(int n) { return static_cast<int>(Next() % static_cast<std::uint64_t>(n)); }

 private:
  std::uint64_t state_;
};

template <typename TImage>
void SetGeometry(TImage* image, const Geometry& g) {
  typename TImage::PointType origin;
  origin.Fill(g.origin);
  typename TImage::SpacingType spacing;
  spacing.Fill(g.spacing);
  image->SetOrigin(origin);
  image->SetSpacing(spacing);
}

ImageType::Pointer ToItk(const cv::Mat& grey, const Geometry& g) {
  ImageType::Pointer image = ImageType::New();
  ImageType::RegionType region;
  region.SetSize(
      {{static_cast<itk::SizeValueType>(grey.cols), static_cast<itk::SizeValueType>(grey.rows)}});
  image->SetRegions(region);
  SetGeometry(image.GetPointer(), g);
  image->Allocate();
  float* dst = image->GetBufferPointer();
  for (int y = 0; y < grey.rows; ++y) {
    std::copy_n(grey.ptr<float>(y), grey.cols, dst + static_cast<std::size_t>(y) * grey.cols);
  }
  return image;
}

MaskType::Pointer ToItkMask(const cv::Mat& mask, const Geometry& g) {
  MaskImageType::Pointer image = MaskImageType::New();
  MaskImageType::RegionType region;
  region.SetSize(
      {{static_cast<itk::SizeValueType>(mask.cols), static_cast<itk::SizeValueType>(mask.rows)}});
  image->SetRegions(region);
  SetGeometry(image.GetPointer(), g);
  image->Allocate();
  unsigned char* dst = image->GetBufferPointer();
  for (int y = 0; y < mask.rows; ++y) {
    const unsigned char* src = mask.ptr<unsigned char>(y);
    for (int x = 0; x < mask.cols; ++x)
      dst[static_cast<std::size_t>(y) * mask.cols + x] = src[x] ? 1 : 0;
  }
  MaskType::Pointer object = MaskType::New();
  object->SetImage(image);
  object->Update();
  return object;
}

// One level of the pyramid for both images.
struct Level {
  cv::Mat fixed, moving, fixed_mask, moving_mask;
  Geometry fixed_geometry, moving_geometry;
};

// Level `shrink` (1, 2, 4, ...) of the working pair: pyrDown keeps pixel i of the smaller image
// centred on pixel 2i of the larger one, so the origin stays and the spacing doubles.
Level MakeLevel(const WorkingPair& pair, int shrink) {
  Level level;
  level.fixed = pair.fixed;
  level.moving = pair.moving;
  level.fixed_geometry = {0.0, pair.fixed_factor};
  level.moving_geometry = {0.0, pair.moving_factor};
  for (int s = 1; s < shrink; s *= 2) {
    cv::Mat f, m;
    cv::pyrDown(level.fixed, f);
    cv::pyrDown(level.moving, m);
    level.fixed = f;
    level.moving = m;
    level.fixed_geometry.spacing *= 2;
    level.moving_geometry.spacing *= 2;
  }
  auto shrink_mask = [](const cv::Mat& mask, cv::Size size) {
    if (mask.empty()) return cv::Mat();
    cv::Mat out;
    cv::resize(mask, out, size, 0, 0, cv::INTER_NEAREST);
    return out;
  };
  level.fixed_mask = shrink_mask(pair.fixed_mask, level.fixed.size());
  level.moving_mask = shrink_mask(pair.moving_mask, level.moving.size());
  return level;
}

// About `count` fixed-image points on a jittered grid inside the mask (2-pixel border excluded,
// where the central-difference gradient is undefined). Physical coordinates.
PointSetType::Pointer SamplePoints(const cv::Mat& image, const cv::Mat& mask, const Geometry& g,
                                   int count, std::uint32_t seed, int level_index) {
  const int border = 2;
  const int inner_w = image.cols - 2 * border, inner_h = image.rows - 2 * border;
  const double area = mask.empty() ? static_cast<double>(inner_w) * inner_h
                                   : static_cast<double>(std::max(1, cv::countNonZero(mask)));
  const int stride = std::max(1, static_cast<int>(std::floor(std::sqrt(area / count))));
  Rng rng((static_cast<std::uint64_t>(seed) << 8) ^ static_cast<std::uint64_t>(level_index + 1));
  PointSetType::Pointer points = PointSetType::New();
  auto container = PointSetType::PointsContainer::New();
  itk::IdentifierType id = 0;
  for (int gy = border; gy + stride <= image.rows - border; gy += stride) {
    for (int gx = border; gx + stride <= image.cols - border; gx += stride) {
      const int x = gx + (stride > 1 ? rng.Below(stride) : 0);
      const int y = gy + (stride > 1 ? rng.Below(stride) : 0);
      if (!mask.empty() && mask.at<unsigned char>(y, x) == 0) continue;
      // Off-grid positions (the fixed image is interpolated too): samples on the pixel grid
      // make mutual information favour grid-aligned shifts (interpolation artefacts).
      const double fx = (rng.Below(1024) + 0.5) / 1024.0 - 0.5;
      const double fy = (rng.Below(1024) + 0.5) / 1024.0 - 0.5;
      PointSetType::PointType p;
      p[0] = g.origin + g.spacing * (x + fx);
      p[1] = g.origin + g.spacing * (y + fy);
      container->InsertElement(id++, p);
    }
  }
  points->SetPoints(container);
  return points;
}

MetricType::Pointer MakeMetric(const Level& level, const PointSetType::Pointer& points,
                               const RegistrationOptions& options) {
  MetricType::Pointer metric = MetricType::New();
  metric->SetNumberOfHistogramBins(static_cast<itk::SizeValueType>(options.histogram_bins));
  metric->SetFixedImage(ToItk(level.fixed, level.fixed_geometry));
  metric->SetMovingImage(ToItk(level.moving, level.moving_geometry));
  // Gradients by central differences at the sample points only: a whole-image gradient filter
  // costs more than the few thousand points it would serve.
  metric->SetUseFixedImageGradientFilter(false);
  metric->SetUseMovingImageGradientFilter(false);
  metric->SetFixedSampledPointSet(points);
  metric->SetUseSampledPointSet(true);
  if (!level.moving_mask.empty()) {
    metric->SetMovingImageMask(ToItkMask(level.moving_mask, level.moving_geometry));
  }
  if (options.threads > 0) metric->SetWorkUnits(static_cast<itk::ThreadIdType>(options.threads));
  return metric;
}

cv::Matx33d FromItk(const LinearType& t) {
  const auto& m = t.GetMatrix();
  const auto& o = t.GetOffset();
  return cv::Matx33d(m(0, 0), m(0, 1), o[0], m(1, 0), m(1, 1), o[1], 0, 0, 1);
}

// A transform of `model` about `center` equal to the linear map `a` (fixed -> moving).
LinearType::Pointer MakeLinear(TransformModel model, const cv::Matx33d& a,
                               const itk::Point<double, 2>& center) {
  const double angle = std::atan2(a(1, 0) - a(0, 1), a(0, 0) + a(1, 1));
  LinearType::Pointer t;
  switch (model) {
    case TransformModel::kRigid: {
      auto e = itk::Euler2DTransform<double>::New();
      e->SetCenter(center);
      e->SetAngle(angle);
      t = e;
      break;
    }
    case TransformModel::kSimilarity: {
      auto s = itk::Similarity2DTransform<double>::New();
      s->SetCenter(center);
      s->SetScale(std::sqrt(std::abs(a(0, 0) * a(1, 1) - a(0, 1) * a(1, 0))));
      s->SetAngle(angle);
      t = s;
      break;
    }
    case TransformModel::kAffine: {
      auto f = itk::AffineTransform<double, 2>::New();
      f->SetCenter(center);
      LinearType::MatrixType m;
      m(0, 0) = a(0, 0);
      m(0, 1) = a(0, 1);
      m(1, 0) = a(1, 0);
      m(1, 1) = a(1, 1);
      f->SetMatrix(m);
      t = f;
      break;
    }
  }
  // T(x) = M (x - c) + c + t' must equal A x + b, so t' = b - c + M c (M as the model could
  // represent A, which for rigid drops any scale the start carried).
  const auto& m = t->GetMatrix();
  LinearType::OutputVectorType translation;
  for (int r = 0; r < 2; ++r) {
    translation[r] = a(r, 2) - center[r] + m(r, 0) * center[0] + m(r, 1) * center[1];
  }
  t->SetTranslation(translation);
  return t;
}

// Parameter scales so that one unit of every parameter moves the samples by about one pixel
// (rotation, scale and matrix entries act through the RMS radius of the samples about the centre).
itk::OptimizerParameters<double> Scales(TransformModel model, double radius2) {
  const int n = model == TransformModel::kRigid ? 3 : model == TransformModel::kSimilarity ? 4 : 6;
  itk::OptimizerParameters<double> scales(n);
  for (int i = 0; i < n; ++i) scales[i] = i < n - 2 ? radius2 : 1.0;
  return scales;
}

}  // namespace

RefineOutcome RefineLinear(const WorkingPair& pair, TransformModel model,
                           const cv::Matx33d& fixed_to_moving_start,
                           const RegistrationOptions& options) {
  RefineOutcome out;
  try {
    itk::Point<double, 2> center;
    center[0] = (pair.fixed_full_size.width - 1) / 2.0;
    center[1] = (pair.fixed_full_size.height - 1) / 2.0;
    LinearType::Pointer transform = MakeLinear(model, fixed_to_moving_start, center);
    for (int li = 0; li < options.levels; ++li) {
      const int shrink = 1 << (options.levels - 1 - li);
      const Level level = MakeLevel(pair, shrink);
      if (level.fixed.cols < 16 || level.fixed.rows < 16 || level.moving.cols < 16 ||
          level.moving.rows < 16) {
        continue;  // too coarse to carry information; finer levels follow
      }
      PointSetType::Pointer points = SamplePoints(
          level.fixed, level.fixed_mask, level.fixed_geometry, options.samples, options.seed, li);
      if (points->GetNumberOfPoints() < 64) {
        out.stop_reason = "fewer than 64 sample points in the fixed region of interest";
        return out;
      }
      double radius2 = 0;
      for (auto it = points->GetPoints()->Begin(); it != points->GetPoints()->End(); ++it) {
        const auto d = it.Value() - center;
        radius2 += d[0] * d[0] + d[1] * d[1];
      }
      radius2 /= static_cast<double>(points->GetNumberOfPoints());

      MetricType::Pointer metric = MakeMetric(level, points, options);
      metric->SetMovingTransform(transform);
      metric->Initialize();

      auto optimizer = itk::RegularStepGradientDescentOptimizerv4<double>::New();
      optimizer->SetMetric(metric);
      optimizer->SetScales(Scales(model, radius2));
      // Steps in (scaled) full-resolution pixels: start at half a level pixel, stop at 1/1000.
      // Measured on phantom pairs: a slower relaxation (0.7) or smaller first step did not
      // improve accuracy, and 4x the samples bought 0.01 px for twice the time.
      optimizer->SetLearningRate(0.5 * level.fixed_geometry.spacing);
      optimizer->SetMinimumStepLength(0.001 * level.fixed_geometry.spacing);
      optimizer->SetRelaxationFactor(0.5);
      optimizer->SetGradientMagnitudeTolerance(1e-12);
      optimizer->SetNumberOfIterations(static_cast<itk::SizeValueType>(options.max_iterations));
      optimizer->SetReturnBestParametersAndValue(true);
      if (options.threads > 0) {
        optimizer->SetNumberOfWorkUnits(static_cast<itk::ThreadIdType>(options.threads));
      }
      optimizer->StartOptimization();
      out.iterations += static_cast<int>(optimizer->GetCurrentIteration());
      out.metric = optimizer->GetCurrentMetricValue();
      out.stop_reason = optimizer->GetStopConditionDescription();
    }
    out.fixed_to_moving = FromItk(*transform);
    out.ok = true;
  } catch (const itk::ExceptionObject& e) {
    out.ok = false;
    out.stop_reason = std::string("ITK refinement failed: ") + e.GetDescription();
  }
  return out;
}

DeformOutcome RefineDeformable(const WorkingPair& pair, const cv::Matx33d& fixed_to_moving,
                               const RegistrationOptions& options) {
  DeformOutcome out;
  try {
    itk::Point<double, 2> center;
    center[0] = (pair.fixed_full_size.width - 1) / 2.0;
    center[1] = (pair.fixed_full_size.height - 1) / 2.0;
    LinearType::Pointer linear = MakeLinear(TransformModel::kAffine, fixed_to_moving, center);
    linear->SetParameters(linear->GetParameters());  // freeze as given

    BSplineType::Pointer bspline = BSplineType::New();
    BSplineType::OriginType origin;
    origin.Fill(-0.5);  // the domain is the fixed image's extent: pixel edges, not centres
    BSplineType::PhysicalDimensionsType dims;
    dims[0] = pair.fixed_full_size.width;
    dims[1] = pair.fixed_full_size.height;
    BSplineType::MeshSizeType mesh;
    mesh[0] = std::max(1, static_cast<int>(std::lround(dims[0] / options.deformable_grid_px)));
    mesh[1] = std::max(1, static_cast<int>(std::lround(dims[1] / options.deformable_grid_px)));
    bspline->SetTransformDomainOrigin(origin);
    bspline->SetTransformDomainPhysicalDimensions(dims);
    bspline->SetTransformDomainMeshSize(mesh);
    BSplineType::DirectionType direction;
    direction.SetIdentity();
    bspline->SetTransformDomainDirection(direction);
    BSplineType::ParametersType zero(bspline->GetNumberOfParameters());
    zero.Fill(0);
    bspline->SetParameters(zero);

    CompositeType::Pointer composite = CompositeType::New();
    composite->AddTransform(linear);   // applied second
    composite->AddTransform(bspline);  // applied first: moving = A (x + d(x))
    composite->SetOnlyMostRecentTransformToOptimizeOn();

    // One level at half the working resolution: the grid is coarse, and finer sampling costs time
    // without changing a field this smooth.
    const int shrink = pair.fixed.cols >= 64 && pair.fixed.rows >= 64 ? 2 : 1;
    const Level level = MakeLevel(pair, shrink);
    PointSetType::Pointer points = SamplePoints(level.fixed, level.fixed_mask, level.fixed_geometry,
                                                options.samples / 4, options.seed, 100);
    if (points->GetNumberOfPoints() < 64) {
      out.stop_reason = "fewer than 64 sample points in the fixed region of interest";
      return out;
    }
    MetricType::Pointer metric = MakeMetric(level, points, options);
    metric->SetMovingTransform(composite);
    metric->Initialize();

    auto optimizer = itk::LBFGSBOptimizerv4::New();
    const unsigned n = bspline->GetNumberOfParameters();
    itk::LBFGSBOptimizerv4::BoundSelectionType bounds(n);
    bounds.Fill(0);  // unbounded: smoothness comes from the control-point spacing
    itk::LBFGSBOptimizerv4::BoundValueType lower(n), upper(n);
    lower.Fill(0);
    upper.Fill(0);
    optimizer->SetBoundSelection(bounds);
    optimizer->SetLowerBound(lower);
    optimizer->SetUpperBound(upper);
    optimizer->SetCostFunctionConvergenceFactor(1e7);
    optimizer->SetGradientConvergenceTolerance(1e-6);
    // The composite transform is not "local support" to the metric, so every sample carries the
    // Jacobian of all control points: keep samples and iterations modest (the stage measured
    // several seconds per 2 MP pair even so).
    const int iterations = std::min(options.max_iterations, 40);
    optimizer->SetNumberOfIterations(static_cast<itk::SizeValueType>(iterations));
    optimizer->SetMaximumNumberOfFunctionEvaluations(static_cast<unsigned>(2 * iterations));
    optimizer->SetMaximumNumberOfCorrections(7);
    optimizer->SetMetric(metric);
    optimizer->StartOptimization();
    out.iterations = static_cast<int>(optimizer->GetCurrentIteration());
    out.metric = optimizer->GetCurrentMetricValue();
    out.stop_reason = optimizer->GetStopConditionDescription();

    const int step = out.step;
    const int gw = (pair.fixed_full_size.width - 1) / step + 2;
    const int gh = (pair.fixed_full_size.height - 1) / step + 2;
    out.displacement.create(gh, gw, CV_64FC2);
    for (int l = 0; l < gh; ++l) {
      for (int k = 0; k < gw; ++k) {
        BSplineType::InputPointType p;
        p[0] = std::min<double>(k * step, pair.fixed_full_size.width - 1);
        p[1] = std::min<double>(l * step, pair.fixed_full_size.height - 1);
        const auto q = bspline->TransformPoint(p);
        out.displacement.at<cv::Vec2d>(l, k) = cv::Vec2d(q[0] - p[0], q[1] - p[1]);
      }
    }
    out.ok = true;
  } catch (const itk::ExceptionObject& e) {
    out.ok = false;
    out.stop_reason = std::string("ITK deformable stage failed: ") + e.GetDescription();
  }
  return out;
}

}  // namespace skintrack::registration::detail
